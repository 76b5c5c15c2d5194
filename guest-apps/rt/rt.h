/*
 * rt: the tiny runtime every guest program links instead of a C runtime.
 *
 * Why: Windows 95 retail has no msvcrt.dll, and a default mingw build imports
 * it and carries a TLS directory. rt needs kernel32 only, builds as C89 with
 * both mingw-w64 (i686) and Open Watcom v2, and adds a few KB.
 *
 * Program convention
 *   Each program defines   int rt_main(int argc, char **argv);
 *   rt provides the PE entry point (rt_entry, stdcall, symbol _rt_entry@0),
 *   which parses the command line (rt_args) and calls
 *   ExitProcess(rt_main(argc, argv)).  Link with the entry set to it:
 *     mingw:        -nostdlib -Wl,-e,_rt_entry@0
 *     Open Watcom:  -zl -s, linker "option start=_rt_entry@0"
 *   (see guest-apps/README.md for the full command lines).
 *
 * Memory
 *   memset, memcpy, memmove, memcmp are defined here with their standard
 *   names and signatures because compilers emit calls to them on their own
 *   (structure copies and zeroing). rt_alloc/rt_free wrap HeapAlloc/HeapFree
 *   on the process heap; rt_alloc returns zeroed memory or 0.
 *
 * Strings (all take and return plain char; sizes are unsigned)
 *   rt_strlen(s)                 length of s
 *   rt_strcmp(a, b)              <0, 0, >0 like strcmp
 *   rt_strncmp(a, b, n)          like strncmp
 *   rt_strlcpy(dst, src, size)   copies at most size-1 chars, always
 *                                terminates when size > 0; returns strlen(src)
 *                                (>= size means truncated)
 *   rt_strlcat(dst, src, size)   appends likewise; returns the length it tried
 *                                to create
 *   rt_strchr(s, c)              first c in s, or 0
 *
 * Numbers
 *   rt_parse_long(s, &out)       decimal, optional leading '-', or 0x-prefixed
 *                                hex; the whole string must be a number;
 *                                returns 1 on success, 0 otherwise (out untouched)
 *   rt_parse_ulong(s, &out)      the same without a sign
 *
 * Formatting
 *   rt_fmt(buf, size, fmt, ...)  writes at most size-1 chars plus a NUL and
 *   rt_vfmt(buf, size, fmt, ap)  returns the number of chars written (never
 *                                more than size-1; output is truncated).
 *   Conversions: %s (a null pointer prints "(null)"), %c, %d %i %u %x %X
 *   (int-sized), %ld %lu %lx %lX (long-sized), %p (as 0x%08lx), %%.
 *   Flags and width: '-' (left-justify), '0' (zero-pad), a decimal width or
 *   '*' taking an int argument, e.g. "%08lx" or "%-12s". No precision, no floats.
 *
 * Output (WriteFile on GetStdHandle; short writes are retried; lines are
 * passed through as is: callers write "\r\n" where a console needs it)
 *   rt_write(handle, buf, len)   writes len bytes; returns 1 or 0 on failure
 *   rt_out(s), rt_err(s)         writes a string to stdout / stderr
 *   rt_printf(fmt, ...)          formats (up to RT_LINE_MAX-1 chars) to stdout
 *   rt_eprintf(fmt, ...)         the same to stderr
 *   The returned value is the number of chars formatted.
 *
 * Command line
 *   rt_args(&argv)               splits GetCommandLineA() with the Microsoft
 *                                rules (spaces/tabs separate, "..." groups,
 *                                2n backslashes + quote -> n backslashes and a
 *                                quote toggles, 2n+1 -> n and a literal quote);
 *                                returns argc; argv[argc] == 0. Storage comes
 *                                from the process heap and is never freed.
 *   rt_quote_arg(dst, size, arg) appends arg to dst quoted so that rt_args
 *                                (and Microsoft's CRT) read it back unchanged;
 *                                returns 1, or 0 when dst is too small.
 *
 * Exit
 *   rt_exit(code)                ExitProcess(code); does not return.
 */
#ifndef RT_H
#define RT_H

#include <stdarg.h>
#include <stddef.h>
/* Keeps windows.h from pulling in winsock.h, which clashes with winsock2.h. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#define RT_LINE_MAX 1024

int rt_main(int argc, char **argv);

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);

void *rt_alloc(unsigned size);
void rt_free(void *p);

unsigned rt_strlen(const char *s);
int rt_strcmp(const char *a, const char *b);
int rt_strncmp(const char *a, const char *b, unsigned n);
unsigned rt_strlcpy(char *dst, const char *src, unsigned size);
unsigned rt_strlcat(char *dst, const char *src, unsigned size);
char *rt_strchr(const char *s, int c);

int rt_parse_long(const char *s, long *out);
int rt_parse_ulong(const char *s, unsigned long *out);

int rt_vfmt(char *buf, unsigned size, const char *fmt, va_list ap);
int rt_fmt(char *buf, unsigned size, const char *fmt, ...);

int rt_write(HANDLE h, const char *buf, unsigned len);
void rt_out(const char *s);
void rt_err(const char *s);
int rt_printf(const char *fmt, ...);
int rt_eprintf(const char *fmt, ...);

int rt_args(char ***argv_out);
int rt_quote_arg(char *dst, unsigned size, const char *arg);

void rt_exit(int code);

void WINAPI rt_entry(void);

#endif
