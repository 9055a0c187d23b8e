/*
 * rawecho: sends N raw Ethernet frames of mixed sizes through an AF_PACKET socket on an interface and checks every
 * frame that comes back, for a device whose backend reflects frames (jvirtio's echo backend returns each frame byte
 * for byte, or with the destination and source MACs swapped). Each frame carries the interface's own MAC as both
 * destination and source, so either form of echo returns the same bytes; EtherType 0x88B5 (IEEE local
 * experimental); then a 32-bit sequence number, a 32-bit length and a 32-bit FNV-1a checksum of the payload after
 * it, all big-endian. Frames go out one at a time: send, then wait (bounded) for the echo before the next.
 *
 * Prints one line: JV-RESULT sent=.. received=.. bad=.. lost=..  (bad: echoed with other bytes, length or
 * sequence). Exit status 0 only when every frame came back intact.
 *
 * Usage: rawecho [-i IFACE] [-n FRAMES] [-t TIMEOUT_MS]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ETHERTYPE_JV 0x88B5
#define HEADER 14
#define META 12
#define MAX_FRAME 1514

static const int sizes[] = {60, 64, 128, 333, 512, 1000, 1400, 1514, 61, 777};

static uint32_t fnv1a(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}

static void put32(unsigned char *p, uint32_t v)
{
    uint32_t be = htonl(v);
    memcpy(p, &be, 4);
}

static uint32_t get32(const unsigned char *p)
{
    uint32_t be;
    memcpy(&be, p, 4);
    return ntohl(be);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int build(unsigned char *f, const unsigned char *mac, uint32_t seq, int len)
{
    memcpy(f, mac, 6);
    memcpy(f + 6, mac, 6);
    f[12] = ETHERTYPE_JV >> 8;
    f[13] = ETHERTYPE_JV & 0xFF;
    for (int i = HEADER + META; i < len; i++) {
        f[i] = (unsigned char)(seq * 31 + i * 7);
    }
    put32(f + HEADER, seq);
    put32(f + HEADER + 4, (uint32_t)len);
    put32(f + HEADER + 8, fnv1a(f + HEADER + META, (size_t)(len - HEADER - META)));
    return len;
}

int main(int argc, char **argv)
{
    const char *ifname = "eth0";
    long frames = 1000;
    long timeout = 2000;
    int opt;
    while ((opt = getopt(argc, argv, "i:n:t:")) != -1) {
        switch (opt) {
        case 'i': ifname = optarg; break;
        case 'n': frames = atol(optarg); break;
        case 't': timeout = atol(optarg); break;
        default:
            fprintf(stderr, "usage: rawecho [-i IFACE] [-n FRAMES] [-t TIMEOUT_MS]\n");
            return 2;
        }
    }
    int s = socket(AF_PACKET, SOCK_RAW, htons(ETHERTYPE_JV));
    if (s < 0) {
        printf("JV-RESULT rawecho_error=socket errno=%d\n", errno);
        return 1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
        printf("JV-RESULT rawecho_error=ifindex errno=%d\n", errno);
        return 1;
    }
    int ifindex = ifr.ifr_ifindex;
    if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
        printf("JV-RESULT rawecho_error=hwaddr errno=%d\n", errno);
        return 1;
    }
    unsigned char mac[6];
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    struct sockaddr_ll addr;
    memset(&addr, 0, sizeof addr);
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETHERTYPE_JV);
    addr.sll_ifindex = ifindex;
    if (bind(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
        printf("JV-RESULT rawecho_error=bind errno=%d\n", errno);
        return 1;
    }
    unsigned char out[MAX_FRAME];
    unsigned char in[MAX_FRAME + 64];
    long sent = 0, received = 0, bad = 0, lost = 0;
    /* bound: the frame count given on the command line */
    for (long seq = 0; seq < frames; seq++) {
        int len = build(out, mac, (uint32_t)seq, sizes[seq % (sizeof sizes / sizeof sizes[0])]);
        if (sendto(s, out, (size_t)len, 0, (struct sockaddr *)&addr, sizeof addr) != len) {
            printf("JV-RESULT rawecho_error=send errno=%d\n", errno);
            break;
        }
        sent++;
        long deadline = now_ms() + timeout;
        int got = 0;
        /* bound: the per-frame timeout; stale or foreign frames are skipped until it expires */
        while (!got) {
            long left = deadline - now_ms();
            if (left <= 0) {
                break;
            }
            struct pollfd p = {.fd = s, .events = POLLIN};
            if (poll(&p, 1, (int)left) <= 0) {
                continue;
            }
            struct sockaddr_ll from;
            socklen_t fromlen = sizeof from;
            ssize_t n = recvfrom(s, in, sizeof in, 0, (struct sockaddr *)&from, &fromlen);
            if (n < 0 || from.sll_pkttype == PACKET_OUTGOING) {
                continue;
            }
            if (n >= HEADER + META && get32(in + HEADER) < (uint32_t)seq) {
                continue; /* a late echo of an earlier frame already counted lost */
            }
            got = 1;
            if (n == len && memcmp(in, out, (size_t)len) == 0
                && get32(in + HEADER + 8) == fnv1a(in + HEADER + META, (size_t)(n - HEADER - META))) {
                received++;
            } else {
                bad++;
            }
        }
        if (!got) {
            lost++;
        }
    }
    printf("JV-RESULT sent=%ld received=%ld bad=%ld lost=%ld\n", sent, received, bad, lost);
    close(s);
    return sent == frames && received == frames ? 0 : 1;
}
