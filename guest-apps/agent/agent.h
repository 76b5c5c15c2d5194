/*
 * The retrolab guest agent: serves the framed protocol of PROTOCOL.md over a
 * serial port. Shared declarations of its parts (frame, serial, the request
 * handlers). Every handler writes its reply payload into reply_payload() and
 * returns the reply type; lengths are checked against the buffer it is given.
 */
#ifndef AGENT_H
#define AGENT_H

#include "rt.h"

#define AGENT_VERSION_TEXT "retrolab-agent 1.0"
#define PROTOCOL_VERSION 1
#define MAX_PAYLOAD 65536UL
#define HEADER_SIZE 20UL
#define TRAILER_SIZE 4UL
#define MAX_FRAME (HEADER_SIZE + MAX_PAYLOAD + TRAILER_SIZE)
#define MAX_GUEST_PATH 259
#define MAX_COMMAND 4000

/* request types */
#define REQ_HELLO 0x01
#define REQ_PING 0x02
#define REQ_PUT 0x03
#define REQ_GET 0x04
#define REQ_DELETE 0x05
#define REQ_EXEC 0x06
#define REQ_NETSTAT 0x07
#define REQ_SYSINFO 0x08
#define REQ_SHUTDOWN 0x09

/* reply types */
#define REP_BANNER 0x80
#define REP_OK 0x81
#define REP_ERROR 0x82
#define REP_FATAL 0x83
#define REP_NAK 0x84

/* error kinds */
#define ERR_WIN32 1
#define ERR_BAD_REQUEST 2
#define ERR_UNKNOWN_TYPE 3
#define ERR_FRAME_TOO_LARGE 4
#define ERR_BAD_VERSION 5
#define ERR_PUT_ORDER 6
#define ERR_BAD_CRC 7

/* crc32.c */
void crc32_init(void);
unsigned long crc32_update(unsigned long crc, const unsigned char *p, unsigned long n);

/* bytes.c: little-endian fields and a bounds-checked payload reader */
void put_u16(unsigned char *p, unsigned v);
void put_u32(unsigned char *p, unsigned long v);
unsigned get_u16(const unsigned char *p);
unsigned long get_u32(const unsigned char *p);

struct reader {
    const unsigned char *p;
    unsigned long len;
    unsigned long off;
    int bad; /* set by the first read past the end or over a limit */
};
void rd_init(struct reader *r, const unsigned char *p, unsigned long len);
unsigned rd_u8(struct reader *r);
unsigned long rd_u32(struct reader *r);
/* str16 into dst (NUL-terminated); bad if longer than max or holding a NUL */
void rd_str16(struct reader *r, char *dst, unsigned max);
const unsigned char *rd_rest(struct reader *r, unsigned long *n);

/* receive.c: frames found in received bytes (PROTOCOL.md "Receiving"), no I/O */
#define RX_READ_MIN 4096UL
/* Room for one largest frame plus a read's worth of what follows it. */
#define RX_SIZE (MAX_FRAME + RX_READ_MIN)
struct rx_buf {
    unsigned char data[RX_SIZE];
    unsigned long start, end; /* the bytes not yet looked at are data[start..end) */
};
/* what rx_next found */
#define RX_MORE 0        /* no whole frame yet: read more */
#define RX_FRAME 1       /* a good frame */
#define RX_BAD_VERSION 2 /* rejected: sound header, version not ours */
#define RX_TOO_LARGE 3   /* rejected: sound header, length over MAX_PAYLOAD */
#define RX_BAD_CRC 4     /* corrupt: sound header, frame CRC wrong */
struct rx_frame {
    unsigned version, type;
    unsigned long seq, len;
    unsigned long fcrc;            /* CRC of header and payload (RX_FRAME, RX_BAD_CRC) */
    const unsigned char *payload; /* RX_FRAME: valid until the next rx_space */
};
/* Where to read next and how much fits (at least RX_READ_MIN after rx_next said RX_MORE). */
unsigned char *rx_space(struct rx_buf *b, unsigned long *cap);
void rx_commit(struct rx_buf *b, unsigned long n);
/* Consumes what it reports; garbage is dropped on the way. */
int rx_next(struct rx_buf *b, struct rx_frame *out);

/* serial.c */
int serial_open(const char *name);
/* want: bytes the frame in progress still lacks (0: none begun); the read lets them gather briefly. */
unsigned long serial_read(unsigned char *buf, unsigned long cap, unsigned long want);
void serial_write(const unsigned char *p, unsigned long n);
void serial_flush(void);

/* agent.c: the reply being built */
unsigned char *reply_payload(void);
int reply_error(unsigned long *len, unsigned kind, unsigned long win32, const char *fmt, ...);
int is_wine(void);
int is_nt(void);
extern int g_verbose;

/* files.c */
int do_put(const unsigned char *p, unsigned long n, unsigned long *len);
int do_get(const unsigned char *p, unsigned long n, unsigned long *len);
int do_delete(const unsigned char *p, unsigned long n, unsigned long *len);

/* exec.c */
int do_exec(const unsigned char *p, unsigned long n, unsigned long *len);
int do_netstat(unsigned long *len);

/* sysinfo.c */
int do_sysinfo(unsigned long *len);

/* power.c */
int do_shutdown_check(const unsigned char *p, unsigned long n, unsigned long *len, int *mode);
void shutdown_now(int mode);

#endif
