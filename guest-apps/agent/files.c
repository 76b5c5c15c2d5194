/* PUT (chunked, committed by the final chunk), GET (chunked) and DELETE. */
#include "agent.h"

#define PUT_FINAL 0x01

/* The open PUT transfer: written to <path>.rlp, renamed on the final chunk. */
static HANDLE put_handle = INVALID_HANDLE_VALUE;
static char put_path[MAX_GUEST_PATH + 1];
static char put_temp[MAX_GUEST_PATH + 8];
static unsigned long put_size, put_crc;

static void put_abandon(void)
{
    if (put_handle != INVALID_HANDLE_VALUE) {
        CloseHandle(put_handle);
        put_handle = INVALID_HANDLE_VALUE;
        DeleteFileA(put_temp);
    }
}

static int put_reply(unsigned long *len)
{
    put_u32(reply_payload(), put_size);
    put_u32(reply_payload() + 4, put_crc);
    *len = 8;
    return REP_OK;
}

int do_put(const unsigned char *p, unsigned long n, unsigned long *len)
{
    struct reader r;
    char path[MAX_GUEST_PATH + 1];
    unsigned long offset, count;
    unsigned flags;
    const unsigned char *data;
    DWORD done, e;

    rd_init(&r, p, n);
    offset = rd_u32(&r);
    flags = rd_u8(&r);
    rd_str16(&r, path, MAX_GUEST_PATH);
    data = rd_rest(&r, &count);
    if (r.bad || path[0] == 0) {
        return reply_error(len, ERR_BAD_REQUEST, 0, "PUT payload is malformed or its path is empty or over %d bytes",
                           MAX_GUEST_PATH);
    }
    if (offset == 0) {
        put_abandon();
        rt_strlcpy(put_path, path, sizeof put_path);
        rt_fmt(put_temp, sizeof put_temp, "%s.rlp", path);
        put_handle = CreateFileA(put_temp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
        if (put_handle == INVALID_HANDLE_VALUE) {
            return reply_error(len, ERR_WIN32, GetLastError(), "PUT %s: cannot create %s", path, put_temp);
        }
        put_size = 0;
        put_crc = 0;
    } else if (put_handle == INVALID_HANDLE_VALUE || rt_strcmp(path, put_path) != 0 || offset != put_size) {
        return reply_error(len, ERR_PUT_ORDER, 0,
                           "PUT %s at offset %lu does not continue the open transfer (%s, %lu bytes): restart at offset 0",
                           path, offset, put_handle == INVALID_HANDLE_VALUE ? "none" : put_path,
                           put_handle == INVALID_HANDLE_VALUE ? 0UL : put_size);
    }
    if (count > 0xFFFFFFFFUL - put_size) {
        put_abandon();
        return reply_error(len, ERR_BAD_REQUEST, 0, "PUT %s would exceed 4 GiB", path);
    }
    if (count > 0 && (!WriteFile(put_handle, data, count, &done, NULL) || done != count)) {
        e = GetLastError();
        put_abandon();
        return reply_error(len, ERR_WIN32, e, "PUT %s: writing %lu bytes at offset %lu failed", path, count, offset);
    }
    put_size += count;
    put_crc = crc32_update(put_crc, data, count);
    if (flags & PUT_FINAL) {
        CloseHandle(put_handle);
        put_handle = INVALID_HANDLE_VALUE;
        /* MoveFileEx is missing on Win9x: delete, then rename. */
        if (!DeleteFileA(put_path) && GetLastError() != ERROR_FILE_NOT_FOUND) {
            e = GetLastError();
            DeleteFileA(put_temp);
            return reply_error(len, ERR_WIN32, e, "PUT %s: cannot replace the existing file (in use?)", put_path);
        }
        if (!MoveFileA(put_temp, put_path)) {
            e = GetLastError();
            DeleteFileA(put_temp);
            return reply_error(len, ERR_WIN32, e, "PUT %s: cannot rename %s to it", put_path, put_temp);
        }
    }
    return put_reply(len);
}

int do_get(const unsigned char *p, unsigned long n, unsigned long *len)
{
    struct reader r;
    char path[MAX_GUEST_PATH + 1];
    unsigned long offset, want, size;
    HANDLE h;
    DWORD got = 0, e;

    rd_init(&r, p, n);
    offset = rd_u32(&r);
    want = rd_u32(&r);
    rd_str16(&r, path, MAX_GUEST_PATH);
    if (r.bad || r.off != r.len || path[0] == 0) {
        return reply_error(len, ERR_BAD_REQUEST, 0, "GET payload is malformed or its path is empty or over %d bytes",
                           MAX_GUEST_PATH);
    }
    h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        return reply_error(len, ERR_WIN32, GetLastError(), "GET %s: cannot open it", path);
    }
    size = GetFileSize(h, NULL);
    if (size == 0xFFFFFFFFUL || offset > size) {
        e = GetLastError();
        CloseHandle(h);
        return reply_error(len, size == 0xFFFFFFFFUL ? ERR_WIN32 : ERR_BAD_REQUEST, size == 0xFFFFFFFFUL ? e : 0,
                           "GET %s: offset %lu is past the end or the size is unreadable", path, offset);
    }
    if (want > size - offset) {
        want = size - offset;
    }
    if (want > MAX_PAYLOAD - 4) {
        want = MAX_PAYLOAD - 4;
    }
    if (want > 0 && (SetFilePointer(h, (LONG)offset, NULL, FILE_BEGIN) == 0xFFFFFFFFUL ||
                     !ReadFile(h, reply_payload() + 4, want, &got, NULL))) {
        e = GetLastError();
        CloseHandle(h);
        return reply_error(len, ERR_WIN32, e, "GET %s: reading %lu bytes at offset %lu failed", path, want, offset);
    }
    CloseHandle(h);
    put_u32(reply_payload(), size);
    *len = 4 + got;
    return REP_OK;
}

int do_delete(const unsigned char *p, unsigned long n, unsigned long *len)
{
    struct reader r;
    char path[MAX_GUEST_PATH + 1];

    rd_init(&r, p, n);
    rd_str16(&r, path, MAX_GUEST_PATH);
    if (r.bad || r.off != r.len || path[0] == 0) {
        return reply_error(len, ERR_BAD_REQUEST, 0, "DELETE payload is malformed or its path is empty or over %d bytes",
                           MAX_GUEST_PATH);
    }
    if (!DeleteFileA(path)) {
        return reply_error(len, ERR_WIN32, GetLastError(), "DELETE %s failed", path);
    }
    *len = 0;
    return REP_OK;
}
