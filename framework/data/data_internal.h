/* Private helpers shared by the data loaders (data_*.c): the data-file search path.
 * Not part of the public API. */
#ifndef AE_DATA_INTERNAL_H
#define AE_DATA_INTERNAL_H

#include <stddef.h>

/* Looks for dir/rel for each search directory in order: data_dir (if not NULL), each entry of the
 * colon-separated $AELAB_DATA, then fallback_dir (if not NULL). Within one directory the names
 * rels[0..nrel) are tried in order. Returns 1 and writes the path to out when a regular file is
 * found, else 0. Every path tried is appended to tried (", "-separated; may be NULL). */
int data_search(const char *const *rels, size_t nrel, const char *data_dir,
                const char *fallback_dir, char *out, size_t outlen, char *tried, size_t tried_len);

/* 1 when path names an existing file that is not a directory. */
int data_is_file(const char *path);

/* Appends "sep text" (or just text when buf is empty) to buf, truncating silently. */
void data_append(char *buf, size_t len, const char *sep, const char *text);

#endif
