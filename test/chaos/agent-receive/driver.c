/*
 * Host driver for the agent's receive loop (guest-apps/agent/receive.c), run
 * by test/chaos/agent-receive.ts. It plays the agent's main loop with stdin
 * in place of the serial port: each record on stdin is one read's worth of
 * bytes, taken as serial_read would (at most the room rx_space offers).
 *
 * stdin:  records of u32le n + n bytes; n = 0xFFFFFFFF resets the receiver.
 * stdout: one line per event:  F type seq len fcrc payload-crc  (a good frame),
 *         V seq version, L seq len, N seq len (rejected or corrupt), R (reset),
 *         and last  S reads max-held min-room.
 * Any broken bound is printed to stderr and aborts (exit status != 0), as do
 * the sanitizers the harness builds it with.
 */
#include <stdio.h>
#include <stdlib.h>
#include "agent.h"

#define RESET 0xFFFFFFFFUL

static void fail(const char *what, const struct rx_buf *b, unsigned long reads)
{
    fprintf(stderr, "bound broken after read %lu: %s (start %lu, end %lu, RX_SIZE %lu)\n", reads, what, b->start, b->end,
            (unsigned long)RX_SIZE);
    abort();
}

static int read_exact(unsigned char *p, unsigned long n)
{
    return fread(p, 1, n, stdin) == n;
}

int main(void)
{
    struct rx_buf *b = malloc(sizeof *b);
    unsigned char *chunk = malloc(MAX_FRAME * 2);
    unsigned char head[4];
    unsigned long n, off, take, cap, reads = 0, max_held = 0, min_room = RX_SIZE;
    unsigned char *room;
    struct rx_frame f;
    int kind;

    if (b == NULL || chunk == NULL) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }
    b->start = b->end = 0;
    crc32_init();
    while (read_exact(head, 4)) {
        n = get_u32(head);
        if (n == RESET) {
            b->start = b->end = 0;
            printf("R\n");
            continue;
        }
        if (n > MAX_FRAME * 2 || !read_exact(chunk, n)) {
            fprintf(stderr, "bad record on stdin (length %lu)\n", n);
            return 2;
        }
        for (off = 0; off < n; off += take) {
            room = rx_space(b, &cap);
            if (cap < RX_READ_MIN || room != b->data + b->end || b->end + cap != RX_SIZE) {
                fail("rx_space offers less than RX_READ_MIN or the wrong room", b, reads);
            }
            if (cap < min_room) {
                min_room = cap;
            }
            take = n - off < cap ? n - off : cap;
            memcpy(room, chunk + off, take);
            rx_commit(b, take);
            reads++;
            for (;;) {
                kind = rx_next(b, &f);
                if (b->start > b->end || b->end > RX_SIZE) {
                    fail("start/end outside the buffer", b, reads);
                }
                if (kind == RX_MORE) {
                    break;
                }
                if (kind == RX_FRAME) {
                    if (f.payload < b->data || f.payload + f.len > b->data + b->start) {
                        fail("payload outside what was consumed", b, reads);
                    }
                    printf("F %u %lu %lu %lu %lu\n", f.type, f.seq, f.len, f.fcrc, crc32_update(0, f.payload, f.len));
                } else if (kind == RX_BAD_VERSION) {
                    printf("V %lu %u\n", f.seq, f.version);
                } else if (kind == RX_TOO_LARGE) {
                    printf("L %lu %lu\n", f.seq, f.len);
                } else if (kind == RX_BAD_CRC) {
                    printf("N %lu %lu\n", f.seq, f.len);
                } else {
                    fail("rx_next returned an unknown kind", b, reads);
                }
            }
            /* what waits for more is at most one frame short of complete */
            if (b->end - b->start >= MAX_FRAME) {
                fail("holding a whole frame's worth while waiting for more", b, reads);
            }
            if (b->end - b->start > max_held) {
                max_held = b->end - b->start;
            }
        }
    }
    printf("S %lu %lu %lu\n", reads, max_held, min_room);
    free(chunk);
    free(b);
    return ferror(stdin) ? 2 : 0;
}
