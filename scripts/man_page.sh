#!/usr/bin/env bash
# Writes aelab's man page (troff) from its own --help texts, so the text is written once (in
# cli/aelab.c): `aelab --help`, then each command whose `aelab CMD --help` differs, as its section.
# Usage: scripts/man_page.sh path/to/aelab "one-line description" OUT.1   (run by the build)
set -euo pipefail
aelab=$1 desc=$2 out=$3
main=$("$aelab" --help)
version=$("$aelab" --version)

# help text on stdin -> troff; $1: "" for the main text, else the command whose own help it is
to_troff() {
  awk -v cmd="$1" '
    function esc(t) { gsub(/\\/, "\\e", t); gsub(/-/, "\\-", t); return t }
    function line(t) { t = esc(t); if (t ~ "^[.\047]") t = "\\&" t; print t }
    # a term: command and option names bold, placeholders (upper case) italic
    function term(t,   n, w, i, s) {
      n = split(t, w, " "); s = ""
      for (i = 1; i <= n; i++) s = s (i > 1 ? " " : "") (w[i] ~ /[A-Z]/ ? "\\fI" : "\\fB") esc(w[i]) "\\fR"
      return s
    }
    /^usage: / {
      sub(/^usage: /, "")
      if (cmd == "") print ".SH SYNOPSIS"; else print ".SH \"" toupper("aelab " cmd) "\""
      print ".nf"; line($0); print ".fi"; next
    }
    /^$/ { next }
    /^[^ ].*:$/ {
      h = substr($0, 1, length($0) - 1)
      if (cmd == "") print ".SH \"" toupper(h) "\""; else print ".SS \"" h " (" cmd ")\""
      next
    }
    /^  [^ ]/ {
      t = substr($0, 3); d = ""
      if (match(t, /  +/)) { d = substr(t, RSTART + RLENGTH); t = substr(t, 1, RSTART - 1) }
      print ".TP"; print term(t); if (d != "") line(d); next
    }
    /^   / { sub(/^ +/, ""); line($0); next }
    { print ".PP"; line($0) }'
}

{
  printf '.TH AELAB 1 "" "%s" "User Commands"\n.SH NAME\naelab \\- %s\n' "$version" "$desc"
  to_troff "" <<< "$main"
  # commands with a help of their own (the "commands:" list of the main help)
  for c in $(awk '/^commands:/ {on = 1; next} /^$/ {on = 0} on && /^  [a-z]/ {print $1}' <<< "$main"); do
    sub=$("$aelab" "$c" --help 2>/dev/null) || continue
    [ "$sub" != "$main" ] && to_troff "$c" <<< "$sub"
  done
  printf '.SH "SEE ALSO"\nThe bundled configs in share/aelab/configs, an example plug-in in share/aelab/examples, '
  printf 'and every config key: \\fBaelab list \\-\\-markdown\\fR.\n'
} > "$out.tmp"
mv "$out.tmp" "$out"
