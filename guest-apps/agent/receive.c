/*
 * Finding frames in received bytes, as PROTOCOL.md "Receiving" says. Pure
 * functions over a buffer the caller owns: no I/O and no Win32, so the same
 * file is built for the host and fuzzed there (test/chaos/agent-receive/).
 */
#include "agent.h"

static const unsigned char magic[4] = { 'R', 'L', 'A', 'G' };

unsigned char *rx_space(struct rx_buf *b, unsigned long *cap)
{
    if (b->start == b->end) {
        b->start = b->end = 0;
    }
    /* What rx_next leaves is shorter than one largest frame, so this always frees RX_READ_MIN bytes. */
    if (b->start > 0 && RX_SIZE - b->end < RX_READ_MIN) {
        memmove(b->data, b->data + b->start, b->end - b->start);
        b->end -= b->start;
        b->start = 0;
    }
    *cap = RX_SIZE - b->end;
    return b->data + b->end;
}

void rx_commit(struct rx_buf *b, unsigned long n)
{
    b->end += n;
}

int rx_next(struct rx_buf *b, struct rx_frame *out)
{
    unsigned long avail, i, total;
    const unsigned char *f;

    for (;;) {
        avail = b->end - b->start;
        for (i = 0; i + 4 <= avail; i++) {
            if (memcmp(b->data + b->start + i, magic, 4) == 0) {
                break;
            }
        }
        if (i + 4 > avail) {
            /* no magic: keep a tail that may be the start of one */
            b->start = avail > 3 ? b->end - 3 : b->start;
            return RX_MORE;
        }
        b->start += i;
        avail -= i;
        if (avail < HEADER_SIZE) {
            return RX_MORE;
        }
        f = b->data + b->start;
        if (crc32_update(0, f, 16) != get_u32(f + 16)) {
            b->start += 1;
            continue;
        }
        out->version = f[4];
        out->type = f[5];
        out->seq = get_u32(f + 8);
        out->len = get_u32(f + 12);
        out->payload = f + HEADER_SIZE;
        out->fcrc = 0;
        if (out->version != PROTOCOL_VERSION) {
            b->start += HEADER_SIZE;
            return RX_BAD_VERSION;
        }
        if (out->len > MAX_PAYLOAD) {
            b->start += HEADER_SIZE;
            return RX_TOO_LARGE;
        }
        total = HEADER_SIZE + out->len + TRAILER_SIZE;
        if (avail < total) {
            return RX_MORE;
        }
        out->fcrc = crc32_update(0, f, HEADER_SIZE + out->len);
        if (out->fcrc != get_u32(f + HEADER_SIZE + out->len)) {
            b->start += 4;
            return RX_BAD_CRC;
        }
        b->start += total;
        return RX_FRAME;
    }
}
