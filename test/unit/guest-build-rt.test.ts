import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { $ } from 'zx';
import { PROJECT_ROOT } from '../../src/util/paths.ts';

// guest-apps/rt/rt.c compiled for the host against a stand-in for the few
// kernel32 calls it makes, so its formatter and command-line rules run here
// exactly as written (the guests only add the real kernel32 underneath).

const FAKE_WINDOWS_H = `
typedef void *HANDLE; typedef unsigned long DWORD; typedef unsigned int UINT; typedef int BOOL;
#define WINAPI
#define HEAP_ZERO_MEMORY 8
#define STD_OUTPUT_HANDLE ((DWORD)-11)
#define STD_ERROR_HANDLE ((DWORD)-12)
HANDLE GetProcessHeap(void); void *HeapAlloc(HANDLE, DWORD, unsigned long); BOOL HeapFree(HANDLE, DWORD, void *);
BOOL WriteFile(HANDLE, const void *, DWORD, DWORD *, void *); HANDLE GetStdHandle(DWORD);
const char *GetCommandLineA(void); DWORD GetLastError(void); void ExitProcess(UINT);
`;

// The driver: argv[1] is the Windows command line to split; then prints the
// formatter cases and a round trip through rt_quote_arg.
const DRIVER_C = `
#include <stdlib.h>
#include <unistd.h>
#include "rt.h"
static const char *line;
HANDLE GetProcessHeap(void) { return 0; }
void *HeapAlloc(HANDLE h, DWORD f, unsigned long n) { (void)h; (void)f; return calloc(1, n); }
BOOL HeapFree(HANDLE h, DWORD f, void *p) { (void)h; (void)f; free(p); return 1; }
BOOL WriteFile(HANDLE h, const void *b, DWORD n, DWORD *done, void *o) { (void)o; *done = (DWORD)write(h == (HANDLE)2 ? 2 : 1, b, n); return 1; }
HANDLE GetStdHandle(DWORD w) { return w == STD_ERROR_HANDLE ? (HANDLE)2 : (HANDLE)1; }
const char *GetCommandLineA(void) { return line; }
DWORD GetLastError(void) { return 0; }
void ExitProcess(UINT c) { exit((int)c); }
int rt_main(int argc, char **argv) { (void)argc; (void)argv; return 0; }
int main(int argc, char **host_argv) {
    char **argv; char buf[16]; char quoted[512]; int n, i; long l; unsigned long u;
    (void)argc;
    line = host_argv[1];
    n = rt_args(&argv);
    rt_printf("argc=%d", n);
    for (i = 0; i < n; i++) rt_printf(" <%s>", argv[i]);
    rt_printf(" last_null=%d\\n", argv[n] == 0);
    rt_printf("%d|%5d|%-5d|%05d|%x|%X|%lu|%ld|%s|%c|%%|%p|%08lx|%*d|%u\\n", -2147483647 - 1, 42, 42, -42, 255u, 255u,
              4294967295UL, -5L, (char *)0, 'q', (void *)0x1234, 0xabcUL, 4, 7, 0u);
    n = rt_fmt(buf, sizeof buf, "0123456789abcdefghij");
    rt_printf("truncated=%d [%s]\\n", n, buf);
    quoted[0] = 0;
    for (i = 0; argv[i]; i++) { if (i) rt_strlcat(quoted, " ", sizeof quoted); rt_quote_arg(quoted, sizeof quoted, argv[i]); }
    line = quoted;
    n = rt_args(&argv);
    rt_printf("roundtrip argc=%d", n);
    for (i = 0; i < n; i++) rt_printf(" <%s>", argv[i]);
    rt_printf("\\n");
    rt_printf("parse %d", rt_parse_long("-2147483648", &l)); rt_printf(" %ld", l);
    rt_printf(" %d %d %d %d", rt_parse_long("2147483648", &l), rt_parse_long("12x", &l), rt_parse_long("", &l), rt_parse_long("-", &l));
    rt_printf(" %d", rt_parse_ulong("0xFFFFFFFF", &u)); rt_printf(" %lu", u);
    rt_printf(" %d\\n", rt_parse_ulong("4294967296", &u));
    rt_printf("str %d %d %d %u\\n", rt_strcmp("a", "b") < 0, rt_strncmp("abc", "abd", 2), memcmp("ab", "ac", 2) < 0, rt_strlcpy(buf, "toolongforsixteenbytes", sizeof buf));
    return 0;
}
`;

let work: string;
let driver: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'rt-host-'));
  await writeFile(join(work, 'windows.h'), FAKE_WINDOWS_H);
  await writeFile(join(work, 'driver.c'), DRIVER_C);
  driver = join(work, 'driver');
  const rt = join(PROJECT_ROOT, 'guest-apps/rt');
  await $({
    quiet: true,
  })`gcc -std=c89 -Wall -Wextra -fno-builtin -I${work} -I${rt} -o ${driver} ${join(work, 'driver.c')} ${join(rt, 'rt.c')}`;
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function runDriver(commandLine: string): Promise<string[]> {
  return (await $({ quiet: true })`${driver} ${commandLine}`).stdout.split('\n');
}

describe('rt on the host', () => {
  it('splits a command line by the Microsoft rules (quotes, backslashes, doubled quotes)', async () => {
    const [args] = await runDriver('prog.exe  a\\\\\\"b "c d" e\\\\"f g"\\\\ "" x"""y" tail\\');
    expect(args).toBe('argc=7 <prog.exe> <a\\"b> <c d> <e\\f g\\\\> <> <x"y> <tail\\> last_null=1');
  });

  it('quotes arguments so that splitting gives them back unchanged', async () => {
    const lines = await runDriver('"C:\\Program Files\\x.exe" "a b\\\\" "q\\"uote" plain "" "tab\there"');
    expect(lines[0]).toBe('argc=6 <C:\\Program Files\\x.exe> <a b\\> <q"uote> <plain> <> <tab\there> last_null=1');
    expect(lines[3]).toBe('roundtrip argc=6 <C:\\Program Files\\x.exe> <a b\\> <q"uote> <plain> <> <tab\there>');
  });

  it('formats %d %u %x %X %ld %lu %s %c %p %% with widths, flags and truncation', async () => {
    const lines = await runDriver('x');
    expect(lines[1]).toBe('-2147483648|   42|42   |-0042|ff|FF|4294967295|-5|(null)|q|%|0x00001234|00000abc|   7|0');
    expect(lines[2]).toBe('truncated=15 [0123456789abcde]');
  });

  it('parses numbers strictly and compares and copies strings with bounds', async () => {
    const lines = await runDriver('x');
    expect(lines[4]).toBe('parse 1 -2147483648 0 0 0 0 1 4294967295 0');
    expect(lines[5]).toBe('str 1 0 1 22');
  });
});
