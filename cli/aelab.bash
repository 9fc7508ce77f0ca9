# bash completion for aelab (installed as share/bash-completion/completions/aelab): commands and
# options are read from the completed aelab's own --help texts, and the keys of --set from
# `aelab list --keys` (the schema tables `aelab list` prints), so nothing here repeats them.

# The word under the cursor as typed (bash itself splits it at '=' and ':'), and the one before.
_aelab_words() {
  local line=${COMP_LINE:0:COMP_POINT} w=()
  read -ra w <<< "$line"
  if [[ $line == *[[:space:]] || ${#w[@]} -eq 0 ]]; then
    _aelab_cur="" _aelab_prev=${w[${#w[@]}-1]:-}
  else
    _aelab_cur=${w[${#w[@]}-1]} _aelab_prev=${w[${#w[@]}-2]:-}
  fi
}

# COMPREPLY (here, not in a pipeline's subshell: feed it with < <(...)) from the candidates on stdin
# matching $_aelab_cur, without the part of it readline keeps: up to its last word-break character
# (COMP_WORDBREAKS: '=', ':' ...), e.g. "adam" for "train.optimizer.name=a".
_aelab_reply() {
  local breaks=${COMP_WORDBREAKS-$' \t\n"\'><=;|&(:'} keep="" c i
  for ((i = ${#_aelab_cur} - 1; i >= 0; i--)); do
    [[ $breaks == *"${_aelab_cur:i:1}"* ]] && { keep=${_aelab_cur:0:i+1}; break; }
  done
  COMPREPLY=()
  while IFS= read -r c; do
    [[ $c == "$_aelab_cur"* ]] && COMPREPLY+=("${c#"$keep"}")
  done
}

# `--set KEY=VALUE`: keys one level at a time ("train." then "train.optimizer."), "KEY=" for a key,
# then the values a key allows ("train.optimizer.name=adam").
_aelab_keys() {
  local exe=$1 k rest
  if [[ $_aelab_cur == *=* ]]; then
    _aelab_reply < <("$exe" list --keys 2>/dev/null | grep -F -- "=")
  else
    _aelab_reply < <("$exe" list --keys 2>/dev/null | grep -v -F -- "=" | while IFS= read -r k; do
      [[ $k == "$_aelab_cur"* ]] || continue
      rest=${k:${#_aelab_cur}}
      if [[ $rest == *.* ]]; then echo "$_aelab_cur${rest%%.*}."; else echo "$k="; fi
    done | sort -u)
  fi
  compopt -o nospace 2>/dev/null
}

# The options of a command: the "  --opt" lines of `aelab CMD --help` when the command has a help of
# its own, else the options sections of the main help naming it and the options its line mentions.
_aelab_options() {
  local exe=$1 cmd=$2 main own
  main=$("$exe" --help 2>/dev/null)
  own=$("$exe" "$cmd" --help 2>/dev/null)
  if [[ -n $own && $own != "$main" ]]; then
    awk '/^  -/' <<< "$own"
  else
    awk -v cmd="$cmd" '
      /^[^ ].*:$/ { opts = ($0 ~ "^options" && $0 ~ "[(, ]" cmd "[,)]"); cmds = ($0 == "commands:"); next }
      /^$/ { opts = cmds = 0 }
      cmds && /^  [^ ]/ { mine = ($1 == cmd) }
      cmds && mine || opts && /^  -/' <<< "$main"
  fi | grep -o -- '--[a-z][a-z-]*' | sort -u
}

# What the option before the cursor takes, from its "  --opt VALUE" help line: d (a folder), f (a
# file), v (some other value) or nothing (a flag).
_aelab_takes() {
  local exe=$1 cmd=$2 opt=$3 help
  help=$("$exe" "$cmd" --help 2>/dev/null)
  awk -v opt="$opt" '$1 == opt && NF > 1 && $2 ~ /^[A-Z]/ {
      print ($2 ~ /DIR/ ? "d" : $2 ~ /FILE/ ? "f" : "v"); exit }' <<< "$help"
}

_aelab() {
  local exe=${COMP_WORDS[0]} _aelab_cur _aelab_prev
  [[ $exe == "~"* ]] && exe=$HOME${exe:1}
  _aelab_words
  if [[ $COMP_CWORD -le 1 ]]; then
    _aelab_reply < <("$exe" --help 2>/dev/null | awk '/^commands:/ {on = 1; next} /^$/ {on = 0}
                                                      on && /^  [a-z]/ {print $1}'; printf '%s\n' --help --version)
    return
  fi
  local cmd=${COMP_WORDS[1]}
  if [[ $_aelab_prev == --set ]]; then
    _aelab_keys "$exe"
    return
  fi
  if [[ $_aelab_prev == --* ]]; then
    case $(_aelab_takes "$exe" "$cmd" "$_aelab_prev") in
      d) compopt -o filenames 2>/dev/null; _aelab_reply < <(compgen -d -- "$_aelab_cur"); return ;;
      f) compopt -o filenames 2>/dev/null; _aelab_reply < <(compgen -f -- "$_aelab_cur"); return ;;
      v) COMPREPLY=(); return ;;
    esac
  fi
  if [[ $_aelab_cur == -* ]]; then
    _aelab_reply < <(_aelab_options "$exe" "$cmd")
    return
  fi
  # the command's argument: a run folder (sample), else a YAML file or a folder on the way to one
  compopt -o filenames 2>/dev/null
  case $cmd in
    sample) _aelab_reply < <(compgen -d -- "$_aelab_cur") ;;
    list) COMPREPLY=() ;;
    *) _aelab_reply < <(compgen -d -- "$_aelab_cur"; compgen -f -X '!*.yaml' -- "$_aelab_cur"
                        compgen -f -X '!*.yml' -- "$_aelab_cur") ;;
  esac
}
complete -F _aelab aelab
