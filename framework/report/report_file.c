/* Atomic file writes (temp file + fsync + rename + folder fsync), mkdir -p and path joining:
 * every file a run leaves for people goes through here, so a crash never leaves half a file. */
#include "ae_report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static int io_err(ae_err *err, const char *path, int e)
{
    return ae_errf(err, AE_EIO, "cannot write '%s': %s", path, strerror(e));
}

/* fsyncs the folder holding path so the rename itself is durable. Filesystems that cannot fsync a
 * folder (EINVAL/ENOTSUP) are not an error. */
static int sync_dir_of(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        strcpy(dir, ".");
    } else if (slash == path) {
        strcpy(dir, "/");
    } else {
        size_t k = (size_t)(slash - path);
        if (k >= sizeof dir) return ENAMETOOLONG;
        memcpy(dir, path, k);
        dir[k] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return errno;
    int rc = fsync(fd) == 0 || errno == EINVAL || errno == ENOTSUP ? 0 : errno;
    close(fd);
    return rc;
}

int ae_afile_open(ae_afile *af, const char *path, ae_err *err)
{
    af->f = NULL;
    af->path[0] = af->tmp[0] = '\0';
    if (!path || !*path) return ae_errf(err, AE_EIO, "cannot write '': empty file name");
    size_t len = strlen(path);
    if (len >= sizeof af->path) return io_err(err, path, ENAMETOOLONG);
    int k = snprintf(af->tmp, sizeof af->tmp, "%s.tmp.%ld", path, (long)getpid());
    if (k < 0 || (size_t)k >= sizeof af->tmp) {
        af->tmp[0] = '\0';
        return io_err(err, path, ENAMETOOLONG);
    }
    memcpy(af->path, path, len + 1);
    af->f = fopen(af->tmp, "wb");
    if (!af->f) {
        int e = errno;
        af->tmp[0] = '\0';
        return io_err(err, path, e);
    }
    return AE_OK;
}

int ae_afile_commit(ae_afile *af, ae_err *err)
{
    if (!af->f) return ae_errf(err, AE_EIO, "cannot write '%s': file is not open", af->path);
    int e = 0;
    errno = 0;
    if (fflush(af->f) != 0) e = errno ? errno : EIO; /* disk full: ENOSPC, data still buffered */
    if (!e && ferror(af->f)) e = EIO; /* an earlier write failed, its cause no longer known */
    if (!e && fsync(fileno(af->f)) != 0) e = errno;
    errno = 0;
    if (fclose(af->f) != 0 && !e) e = errno ? errno : EIO;
    af->f = NULL;
    if (!e && rename(af->tmp, af->path) != 0) e = errno;
    if (e) {
        unlink(af->tmp);
        af->tmp[0] = '\0';
        return io_err(err, af->path, e);
    }
    af->tmp[0] = '\0';
    e = sync_dir_of(af->path);
    if (e) return io_err(err, af->path, e);
    return AE_OK;
}

int ae_afile_fail(ae_afile *af, const char *why, ae_err *err)
{
    int e = af->f && ferror(af->f) ? errno : 0;
    ae_afile_abort(af);
    if (e) return io_err(err, af->path, e);
    return ae_errf(err, AE_EIO, "cannot write '%s': %s", af->path, why);
}

void ae_afile_abort(ae_afile *af)
{
    if (af->f) fclose(af->f);
    af->f = NULL;
    if (af->tmp[0]) unlink(af->tmp);
    af->tmp[0] = '\0';
}

int ae_write_file_atomic(const char *path, const void *data, size_t len, ae_err *err)
{
    ae_afile af;
    int rc = ae_afile_open(&af, path, err);
    if (rc) return rc;
    errno = 0;
    if (len && fwrite(data, 1, len, af.f) != len) {
        int e = errno ? errno : EIO;
        ae_afile_abort(&af);
        return io_err(err, path, e);
    }
    return ae_afile_commit(&af, err);
}

/* Creates one folder level; fine if it already is a folder. */
static int mkdir_one(const char *dir, const char *whole, ae_err *err)
{
    if (mkdir(dir, 0777) == 0) return AE_OK;
    int e = errno;
    struct stat st;
    if (stat(dir, &st) != 0) return ae_errf(err, AE_EIO, "cannot create folder '%s': %s", whole, strerror(e));
    if (!S_ISDIR(st.st_mode))
        return ae_errf(err, AE_EIO, "cannot create folder '%s': '%s' is not a folder", whole, dir);
    return AE_OK;
}

int ae_mkdirs(const char *path, ae_err *err)
{
    if (!path || !*path) return ae_errf(err, AE_EIO, "cannot create folder '': empty name");
    char buf[4096];
    size_t len = strlen(path);
    if (len >= sizeof buf) return ae_errf(err, AE_EIO, "cannot create folder '%s': %s", path, strerror(ENAMETOOLONG));
    memcpy(buf, path, len + 1);
    while (len > 1 && buf[len - 1] == '/') buf[--len] = '\0';
    for (size_t i = 1; i < len; i++) {
        if (buf[i] != '/' || buf[i - 1] == '/') continue;
        buf[i] = '\0';
        int rc = mkdir_one(buf, path, err);
        buf[i] = '/';
        if (rc) return rc;
    }
    int rc = mkdir_one(buf, path, err);
    if (rc) return rc;
    if (access(buf, W_OK | X_OK) != 0)
        return ae_errf(err, AE_EIO, "cannot create folder '%s': %s", path, strerror(errno));
    return AE_OK;
}

const char *ae_path_join(char *out, size_t len, const char *dir, const char *name)
{
    if (!len) return out;
    if (!dir || !*dir) {
        snprintf(out, len, "%s", name ? name : "");
    } else {
        size_t dl = strlen(dir);
        const char *sep = dir[dl - 1] == '/' ? "" : "/";
        snprintf(out, len, "%s%s%s", dir, sep, name ? name : "");
    }
    return out;
}
