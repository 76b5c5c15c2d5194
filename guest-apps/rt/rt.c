/* rt: see rt.h. Built with -fno-tree-loop-distribute-patterns under gcc so the
 * loops below are not turned back into calls to themselves. */
#include "rt.h"

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = (unsigned char *)dst;
    while (n--) {
        *d++ = (unsigned char)c;
    }
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    while (n--) {
        *d++ = *s++;
    }
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    if (d < s) {
        while (n--) {
            *d++ = *s++;
        }
    } else {
        d += n;
        s += n;
        while (n--) {
            *--d = *--s;
        }
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = (const unsigned char *)a;
    const unsigned char *y = (const unsigned char *)b;
    for (; n; n--, x++, y++) {
        if (*x != *y) {
            return *x < *y ? -1 : 1;
        }
    }
    return 0;
}

void *rt_alloc(unsigned size)
{
    return HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, size ? size : 1);
}

void rt_free(void *p)
{
    if (p) {
        HeapFree(GetProcessHeap(), 0, p);
    }
}

unsigned rt_strlen(const char *s)
{
    const char *p = s;
    while (*p) {
        p++;
    }
    return (unsigned)(p - s);
}

int rt_strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (int)(unsigned char)*a - (int)(unsigned char)*b;
}

int rt_strncmp(const char *a, const char *b, unsigned n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b || !*a) {
            return (int)(unsigned char)*a - (int)(unsigned char)*b;
        }
    }
    return 0;
}

unsigned rt_strlcpy(char *dst, const char *src, unsigned size)
{
    unsigned len = rt_strlen(src);
    unsigned n;
    if (size) {
        n = len < size - 1 ? len : size - 1;
        memcpy(dst, src, n);
        dst[n] = 0;
    }
    return len;
}

unsigned rt_strlcat(char *dst, const char *src, unsigned size)
{
    unsigned used = 0;
    while (used < size && dst[used]) {
        used++;
    }
    if (used == size) {
        return size + rt_strlen(src);
    }
    return used + rt_strlcpy(dst + used, src, size - used);
}

char *rt_strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c) {
            return (char *)s;
        }
        if (!*s) {
            return 0;
        }
    }
}

int rt_parse_ulong(const char *s, unsigned long *out)
{
    unsigned long v = 0;
    unsigned long base = 10;
    unsigned long digit;
    const char *p = s;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    if (!*p) {
        return 0;
    }
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            digit = (unsigned long)(*p - '0');
        } else if (base == 16 && *p >= 'a' && *p <= 'f') {
            digit = (unsigned long)(*p - 'a' + 10);
        } else if (base == 16 && *p >= 'A' && *p <= 'F') {
            digit = (unsigned long)(*p - 'A' + 10);
        } else {
            return 0;
        }
        if (v > (0xFFFFFFFFUL - digit) / base) {
            return 0;
        }
        v = v * base + digit;
    }
    *out = v;
    return 1;
}

int rt_parse_long(const char *s, long *out)
{
    unsigned long v;
    if (*s == '-') {
        if (!rt_parse_ulong(s + 1, &v) || v > 0x80000000UL) {
            return 0;
        }
        *out = v == 0x80000000UL ? (-0x7FFFFFFFL - 1) : -(long)v;
        return 1;
    }
    if (!rt_parse_ulong(s, &v) || v > 0x7FFFFFFFUL) {
        return 0;
    }
    *out = (long)v;
    return 1;
}

/* Output cursor for rt_vfmt: counts what fits, drops the rest. */
struct rt_sink {
    char *buf;
    unsigned size;
    unsigned len;
};

static void sink_put(struct rt_sink *k, char c)
{
    if (k->len + 1 < k->size) {
        k->buf[k->len++] = c;
    }
}

static void sink_pad(struct rt_sink *k, char c, int n)
{
    while (n-- > 0) {
        sink_put(k, c);
    }
}

static void sink_field(struct rt_sink *k, const char *s, unsigned len, int width, int left, char pad)
{
    int fill = width - (int)len;
    unsigned i;
    if (!left) {
        if (pad == '0' && len && (*s == '-')) {
            sink_put(k, *s++);
            len--;
        }
        sink_pad(k, pad, fill);
    }
    for (i = 0; i < len; i++) {
        sink_put(k, s[i]);
    }
    if (left) {
        sink_pad(k, ' ', fill);
    }
}

/* Renders v in base (10 or 16) right-aligned in tmp; returns the first char. */
static char *render_ulong(char *end, unsigned long v, unsigned base, int upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char *p = end;
    *p = 0;
    do {
        *--p = digits[v % base];
        v /= base;
    } while (v);
    return p;
}

int rt_vfmt(char *buf, unsigned size, const char *fmt, va_list ap)
{
    struct rt_sink k;
    char tmp[24];
    char *s;
    int left, width, is_long;
    char pad;
    long sv;
    unsigned long uv;

    k.buf = buf;
    k.size = size;
    k.len = 0;
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            sink_put(&k, *fmt);
            continue;
        }
        fmt++;
        left = 0;
        pad = ' ';
        width = 0;
        is_long = 0;
        for (;; fmt++) {
            if (*fmt == '-') {
                left = 1;
            } else if (*fmt == '0') {
                pad = '0';
            } else {
                break;
            }
        }
        if (*fmt == '*') {
            width = va_arg(ap, int);
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9') {
                width = width * 10 + (*fmt++ - '0');
            }
        }
        if (*fmt == 'l') {
            is_long = 1;
            fmt++;
        }
        if (left) {
            pad = ' ';
        }
        switch (*fmt) {
        case 's':
            s = va_arg(ap, char *);
            if (!s) {
                s = "(null)";
            }
            sink_field(&k, s, rt_strlen(s), width, left, ' ');
            break;
        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            sink_field(&k, tmp, 1, width, left, ' ');
            break;
        case 'd':
        case 'i':
            sv = is_long ? va_arg(ap, long) : (long)va_arg(ap, int);
            uv = sv < 0 ? 0UL - (unsigned long)sv : (unsigned long)sv;
            s = render_ulong(tmp + sizeof tmp - 1, uv, 10, 0);
            if (sv < 0) {
                *--s = '-';
            }
            sink_field(&k, s, rt_strlen(s), width, left, pad);
            break;
        case 'u':
        case 'x':
        case 'X':
            uv = is_long ? va_arg(ap, unsigned long) : (unsigned long)va_arg(ap, unsigned int);
            s = render_ulong(tmp + sizeof tmp - 1, uv, *fmt == 'u' ? 10 : 16, *fmt == 'X');
            sink_field(&k, s, rt_strlen(s), width, left, pad);
            break;
        case 'p':
            uv = (unsigned long)(size_t)va_arg(ap, void *);
            s = render_ulong(tmp + sizeof tmp - 1, uv, 16, 0);
            sink_put(&k, '0');
            sink_put(&k, 'x');
            sink_field(&k, s, rt_strlen(s), 8, 0, '0');
            break;
        case '%':
            sink_put(&k, '%');
            break;
        case 0:
            fmt--;
            break;
        default:
            sink_put(&k, '%');
            sink_put(&k, *fmt);
            break;
        }
    }
    if (size) {
        buf[k.len] = 0;
    }
    return (int)k.len;
}

int rt_fmt(char *buf, unsigned size, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = rt_vfmt(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int rt_write(HANDLE h, const char *buf, unsigned len)
{
    DWORD done;
    while (len) {
        if (!WriteFile(h, buf, len, &done, 0) || done == 0) {
            return 0;
        }
        buf += done;
        len -= done;
    }
    return 1;
}

void rt_out(const char *s)
{
    rt_write(GetStdHandle(STD_OUTPUT_HANDLE), s, rt_strlen(s));
}

void rt_err(const char *s)
{
    rt_write(GetStdHandle(STD_ERROR_HANDLE), s, rt_strlen(s));
}

static int vprint_to(DWORD which, const char *fmt, va_list ap)
{
    char line[RT_LINE_MAX];
    int n = rt_vfmt(line, sizeof line, fmt, ap);
    rt_write(GetStdHandle(which), line, (unsigned)n);
    return n;
}

int rt_printf(const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vprint_to(STD_OUTPUT_HANDLE, fmt, ap);
    va_end(ap);
    return n;
}

int rt_eprintf(const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vprint_to(STD_ERROR_HANDLE, fmt, ap);
    va_end(ap);
    return n;
}

/* One pass of the Microsoft splitting rules. With out == 0 it only counts;
 * the caller sizes the buffers from the counts and runs it again. */
static int split_args(const char *p, char *out, char **argv)
{
    int argc = 0;
    int in_quotes;
    unsigned slashes;
    for (;;) {
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (!*p) {
            break;
        }
        if (argv) {
            argv[argc] = out;
        }
        argc++;
        in_quotes = 0;
        while (*p && (in_quotes || (*p != ' ' && *p != '\t'))) {
            slashes = 0;
            while (*p == '\\') {
                slashes++;
                p++;
            }
            if (*p == '"') {
                for (; slashes >= 2; slashes -= 2) {
                    if (out) {
                        *out++ = '\\';
                    }
                }
                if (slashes) {
                    if (out) {
                        *out++ = '"';
                    }
                } else if (in_quotes && p[1] == '"') {
                    /* "" inside quotes is a literal quote (MSVC 2008+ rule). */
                    if (out) {
                        *out++ = '"';
                    }
                    p++;
                } else {
                    in_quotes = !in_quotes;
                }
                p++;
            } else {
                for (; slashes; slashes--) {
                    if (out) {
                        *out++ = '\\';
                    }
                }
                if (*p && (in_quotes || (*p != ' ' && *p != '\t'))) {
                    if (out) {
                        *out++ = *p;
                    }
                    p++;
                }
            }
        }
        if (out) {
            *out++ = 0;
        }
    }
    return argc;
}

int rt_args(char ***argv_out)
{
    static char *empty_argv[1];
    const char *line = GetCommandLineA();
    int argc;
    char **argv;
    char *text;
    if (!line) {
        *argv_out = empty_argv;
        return 0;
    }
    argc = split_args(line, 0, 0);
    argv = (char **)rt_alloc((unsigned)(argc + 1) * sizeof(char *));
    text = (char *)rt_alloc(rt_strlen(line) + 1);
    if (!argv || !text) {
        rt_eprintf("rt: HeapAlloc for the command line failed, error=%lu\r\n", (unsigned long)GetLastError());
        rt_exit(255);
    }
    split_args(line, text, argv);
    argv[argc] = 0;
    *argv_out = argv;
    return argc;
}

int rt_quote_arg(char *dst, unsigned size, const char *arg)
{
    unsigned len = rt_strlen(dst);
    unsigned slashes;
    const char *p;

#define RT_PUT(c) do { if (len + 1 >= size) return 0; dst[len++] = (c); dst[len] = 0; } while (0)
    if (*arg && !rt_strchr(arg, ' ') && !rt_strchr(arg, '\t') && !rt_strchr(arg, '"')) {
        for (p = arg; *p; p++) {
            RT_PUT(*p);
        }
        return 1;
    }
    RT_PUT('"');
    for (p = arg;; p++) {
        slashes = 0;
        while (*p == '\\') {
            slashes++;
            p++;
        }
        if (!*p) {
            /* Backslashes before the closing quote must be doubled. */
            for (slashes *= 2; slashes; slashes--) {
                RT_PUT('\\');
            }
            break;
        }
        if (*p == '"') {
            for (slashes = slashes * 2 + 1; slashes; slashes--) {
                RT_PUT('\\');
            }
        } else {
            for (; slashes; slashes--) {
                RT_PUT('\\');
            }
        }
        RT_PUT(*p);
    }
    RT_PUT('"');
#undef RT_PUT
    return 1;
}

void rt_exit(int code)
{
    ExitProcess((UINT)code);
}

void WINAPI rt_entry(void)
{
    char **argv;
    int argc = rt_args(&argv);
    rt_exit(rt_main(argc, argv));
}
