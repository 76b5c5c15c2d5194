/* Little-endian fields and the payload reader every handler parses with. */
#include "agent.h"

void put_u16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v & 0xFF);
    p[1] = (unsigned char)((v >> 8) & 0xFF);
}

void put_u32(unsigned char *p, unsigned long v)
{
    p[0] = (unsigned char)(v & 0xFF);
    p[1] = (unsigned char)((v >> 8) & 0xFF);
    p[2] = (unsigned char)((v >> 16) & 0xFF);
    p[3] = (unsigned char)((v >> 24) & 0xFF);
}

unsigned get_u16(const unsigned char *p)
{
    return (unsigned)p[0] | ((unsigned)p[1] << 8);
}

unsigned long get_u32(const unsigned char *p)
{
    return (unsigned long)p[0] | ((unsigned long)p[1] << 8) | ((unsigned long)p[2] << 16) | ((unsigned long)p[3] << 24);
}

void rd_init(struct reader *r, const unsigned char *p, unsigned long len)
{
    r->p = p;
    r->len = len;
    r->off = 0;
    r->bad = 0;
}

static int rd_need(struct reader *r, unsigned long n)
{
    if (r->bad || n > r->len - r->off) {
        r->bad = 1;
        return 0;
    }
    return 1;
}

unsigned rd_u8(struct reader *r)
{
    if (!rd_need(r, 1)) {
        return 0;
    }
    return r->p[r->off++];
}

unsigned long rd_u32(struct reader *r)
{
    unsigned long v;
    if (!rd_need(r, 4)) {
        return 0;
    }
    v = get_u32(r->p + r->off);
    r->off += 4;
    return v;
}

void rd_str16(struct reader *r, char *dst, unsigned max)
{
    unsigned n, i;
    dst[0] = 0;
    if (!rd_need(r, 2)) {
        return;
    }
    n = get_u16(r->p + r->off);
    r->off += 2;
    if (n > max || !rd_need(r, n)) {
        r->bad = 1;
        return;
    }
    for (i = 0; i < n; i++) {
        if (r->p[r->off + i] == 0) {
            r->bad = 1;
            return;
        }
        dst[i] = (char)r->p[r->off + i];
    }
    dst[n] = 0;
    r->off += n;
}

const unsigned char *rd_rest(struct reader *r, unsigned long *n)
{
    *n = r->bad ? 0 : r->len - r->off;
    r->off = r->len;
    return r->p + (r->len - *n);
}
