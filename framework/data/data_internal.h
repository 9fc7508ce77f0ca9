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

/* --- CSV reading (data_csv_read.c) --- */
typedef struct csv_reader {
    const char *path;
    char *buf, *end; /* whole file, NUL-terminated at *end */
    char *p;         /* parse position */
    long line;       /* line number of p (1-based) */
    char delim;
    char **fields;   /* fields of the current record (point into buf) */
    size_t cap;
} csv_reader;

/* All data rows: n records of ncol fields (cell[i*ncol + j], pointing into the reader's buffer)
 * and the line each starts on. */
typedef struct csv_table {
    char **cell;
    long *line;
    size_t n;
} csv_table;

/* Reads the whole file (gzip or plain, zlib decides) into a NUL-terminated buffer. */
int csv_read_all(const char *path, char **out, size_t *out_len, struct ae_err *err);
/* Parses the next record in place (fields NUL-terminated, quotes removed); blank lines skipped.
 * Returns the field count, 0 at the end, -1 on a syntax error; *line gets its first line. */
long csv_next_record(csv_reader *r, long *line, struct ae_err *err);
/* The delimiter of the header line at r->p: the most frequent of , ; tab | outside quotes (ties and
 * none: ','); *count gets how often it occurs. */
char csv_detect_delimiter(const csv_reader *r, size_t *count);
/* The remaining records into t (a row with another field count than ncol is an error naming it). */
int csv_read_table(csv_reader *r, size_t ncol, csv_table *t, struct ae_err *err);
void csv_table_free(csv_table *t);

#endif
