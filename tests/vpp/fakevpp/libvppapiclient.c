/*
 * fakevpp: an in-memory stand-in for FD.io VPP's libvppapiclient.so, for the
 * tests of maglev. It exports the vac_* binary-API functions and the
 * stat_segment_* stats functions with the real C signatures, and answers a
 * model of VPP's lb plugin (plus control_ping, show_version, cli_inband and
 * ip_route_lookup) byte-for-byte in the wire format of the real VPP.
 *
 * Ground truth: the "VPP binary API and stats segment" reference (README.md,
 * layouts.json and golden/ captured from a live VPP). Section numbers in the
 * comments (§1.7 ...) refer to that reference. See README.md next to this
 * file for what is modelled, the knobs, and the deliberate deviations.
 *
 * Build: cc -shared -fPIC -O2 -Wall -Wextra -pthread -o libvppapiclient.so \
 *           libvppapiclient.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fakevpp.h"

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t i32;
typedef int64_t i64;

/* ------------------------------------------------------------------------ */
/* Constants                                                                */
/* ------------------------------------------------------------------------ */

/* vac_* return codes (§1.1). */
#define VAC_NOT_CONNECTED (-3)
#define VAC_SHM_NOT_READY (-4)
#define VAC_TIMEOUT (-5)

/* VNET_API_ERROR retvals (§5). */
#define RV_OK 0
#define RV_UNSPECIFIED (-1)
#define RV_NO_SUCH_ENTRY (-6)
#define RV_INVALID_MEMORY_SIZE (-70)
#define RV_INVALID_ARGUMENT (-73)
#define RV_VALUE_EXIST (-81)
#define RV_INVALID_ADDRESS_FAMILY (-97)
/* Internal: the request made VPP abort (no reply, VPP gone). */
#define RV_CRASH 1

/* lb_encap_type (§2.3). */
enum { ENCAP_GRE4 = 0, ENCAP_GRE6 = 1, ENCAP_L3DSR = 2, ENCAP_NAT4 = 3, ENCAP_NAT6 = 4, ENCAP_N = 5 };

/* Model capacities (generous for tests; exceeding them answers -1). */
#define MAX_VIPS 1024
#define MAX_ASES 8192
#define MAX_THREADS 8
#define MAX_LB_INDEX 4096 /* load-balance (route stats) indexes */
#define N_LBC 4

/* lb counters, in stats-directory order (§6.4). */
enum { LBC_EXISTING = 0, LBC_FIRST = 1, LBC_UNTRACKED = 2, LBC_NOSERVER = 3 };
static const char *const LBC_NAMES[N_LBC] = {
    "packet from existing sessions",
    "first session packet",
    "untracked packet",
    "no server configured",
};

/* Fixed routes of a fresh VPP: load-balance indexes 0..7 exist before any
 * VIP (§6.6: /net/route/to has length 12 after two VIP routes at 8 and 10).
 * 1 is the IPv4 default route (golden ip_route_lookup_reply.longest_match). */
#define LB_INDEX_FIRST_FREE 8
#define LB_INDEX_IP4_DEFAULT 1
#define LB_INDEX_IP6_DEFAULT 2 /* not captured; a guess */

/* ------------------------------------------------------------------------ */
/* Messages (§2.4, §3). Ids are base + enum position.                       */
/* ------------------------------------------------------------------------ */

enum {
  M_CONTROL_PING,
  M_CONTROL_PING_REPLY,
  M_SHOW_VERSION,
  M_SHOW_VERSION_REPLY,
  M_CLI_INBAND,
  M_CLI_INBAND_REPLY,
  M_LB_CONF,
  M_LB_CONF_REPLY,
  M_LB_CONF_GET,
  M_LB_CONF_GET_REPLY,
  M_LB_ADD_DEL_VIP_V2,
  M_LB_ADD_DEL_VIP_V2_REPLY,
  M_LB_ADD_DEL_AS_V2,
  M_LB_ADD_DEL_AS_V2_REPLY,
  M_LB_AS_SET_WEIGHT,
  M_LB_AS_SET_WEIGHT_REPLY,
  M_LB_VIP_DUMP,
  M_LB_VIP_DETAILS,
  M_LB_AS_V2_DUMP,
  M_LB_AS_V2_DETAILS,
  M_LB_FLUSH_VIP,
  M_LB_FLUSH_VIP_REPLY,
  M_LB_ADD_DEL_VIP,
  M_LB_ADD_DEL_VIP_REPLY,
  M_LB_ADD_DEL_AS,
  M_LB_ADD_DEL_AS_REPLY,
  M_LB_AS_DUMP,
  M_LB_AS_DETAILS,
  M_IP_ROUTE_LOOKUP,
  M_IP_ROUTE_LOOKUP_REPLY,
  M_COUNT
};

enum { K_REQUEST, K_REPLY, K_DETAILS };

typedef struct {
  const char *name;
  u32 crc;
  int fixed; /* fixed part size in bytes */
  int kind;
  int reply; /* for requests: the reply or details message */
} msgdef_t;

static const msgdef_t MSGS[M_COUNT] = {
    [M_CONTROL_PING] = {"control_ping", 0x51077d14, 10, K_REQUEST, M_CONTROL_PING_REPLY},
    [M_CONTROL_PING_REPLY] = {"control_ping_reply", 0xf6b0b8ca, 18, K_REPLY, -1},
    [M_SHOW_VERSION] = {"show_version", 0x51077d14, 10, K_REQUEST, M_SHOW_VERSION_REPLY},
    [M_SHOW_VERSION_REPLY] = {"show_version_reply", 0xc919bde1, 362, K_REPLY, -1},
    [M_CLI_INBAND] = {"cli_inband", 0xf8377302, 14, K_REQUEST, M_CLI_INBAND_REPLY},
    [M_CLI_INBAND_REPLY] = {"cli_inband_reply", 0x05879051, 14, K_REPLY, -1},
    [M_LB_CONF] = {"lb_conf", 0x56cd3261, 38, K_REQUEST, M_LB_CONF_REPLY},
    [M_LB_CONF_REPLY] = {"lb_conf_reply", 0xe8d4e804, 10, K_REPLY, -1},
    [M_LB_CONF_GET] = {"lb_conf_get", 0x51077d14, 10, K_REQUEST, M_LB_CONF_GET_REPLY},
    [M_LB_CONF_GET_REPLY] = {"lb_conf_get_reply", 0x923427ac, 38, K_REPLY, -1},
    [M_LB_ADD_DEL_VIP_V2] = {"lb_add_del_vip_v2", 0x7c520e0f, 50, K_REQUEST, M_LB_ADD_DEL_VIP_V2_REPLY},
    [M_LB_ADD_DEL_VIP_V2_REPLY] = {"lb_add_del_vip_v2_reply", 0xe8d4e804, 10, K_REPLY, -1},
    [M_LB_ADD_DEL_AS_V2] = {"lb_add_del_as_v2", 0x2f1d3b0e, 51, K_REQUEST, M_LB_ADD_DEL_AS_V2_REPLY},
    [M_LB_ADD_DEL_AS_V2_REPLY] = {"lb_add_del_as_v2_reply", 0xe8d4e804, 10, K_REPLY, -1},
    [M_LB_AS_SET_WEIGHT] = {"lb_as_set_weight", 0x2d89bdbd, 50, K_REQUEST, M_LB_AS_SET_WEIGHT_REPLY},
    [M_LB_AS_SET_WEIGHT_REPLY] = {"lb_as_set_weight_reply", 0xe8d4e804, 10, K_REPLY, -1},
    [M_LB_VIP_DUMP] = {"lb_vip_dump", 0x56110cb7, 33, K_REQUEST, M_LB_VIP_DETAILS},
    [M_LB_VIP_DETAILS] = {"lb_vip_details", 0x1329ec9b, 40, K_DETAILS, -1},
    [M_LB_AS_V2_DUMP] = {"lb_as_v2_dump", 0x1063f819, 31, K_REQUEST, M_LB_AS_V2_DETAILS},
    [M_LB_AS_V2_DETAILS] = {"lb_as_v2_details", 0x90064aae, 54, K_DETAILS, -1},
    [M_LB_FLUSH_VIP] = {"lb_flush_vip", 0x1063f819, 31, K_REQUEST, M_LB_FLUSH_VIP_REPLY},
    [M_LB_FLUSH_VIP_REPLY] = {"lb_flush_vip_reply", 0xe8d4e804, 10, K_REPLY, -1},
    [M_LB_ADD_DEL_VIP] = {"lb_add_del_vip", 0x6fa569c7, 49, K_REQUEST, M_LB_ADD_DEL_VIP_REPLY},
    [M_LB_ADD_DEL_VIP_REPLY] = {"lb_add_del_vip_reply", 0xe8d4e804, 10, K_REPLY, -1},
    [M_LB_ADD_DEL_AS] = {"lb_add_del_as", 0x35d72500, 50, K_REQUEST, M_LB_ADD_DEL_AS_REPLY},
    [M_LB_ADD_DEL_AS_REPLY] = {"lb_add_del_as_reply", 0xe8d4e804, 10, K_REPLY, -1},
    [M_LB_AS_DUMP] = {"lb_as_dump", 0x1063f819, 31, K_REQUEST, M_LB_AS_DETAILS},
    [M_LB_AS_DETAILS] = {"lb_as_details", 0x8d24c29e, 49, K_DETAILS, -1},
    [M_IP_ROUTE_LOOKUP] = {"ip_route_lookup", 0x710d6471, 33, K_REQUEST, M_IP_ROUTE_LOOKUP_REPLY},
    [M_IP_ROUTE_LOOKUP_REPLY] = {"ip_route_lookup_reply", 0x5d8febcb, 37, K_REPLY, -1},
};

/* ------------------------------------------------------------------------ */
/* The lb model                                                             */
/* ------------------------------------------------------------------------ */

typedef struct {
  u8 af;     /* 0 = IPv4, 1 = IPv6 */
  u8 a[16];  /* wire form: IPv4 in bytes 0..3, rest 0 */
  u8 len;
} pfx_t;

typedef struct {
  bool in_pool; /* slot allocated (used or awaiting gc) */
  bool used;    /* flags bit 0 */
  u32 vip;      /* owning VIP index */
  u8 af;
  u8 addr[16];
  u8 weight;
  u32 in_use_since; /* uptime seconds at deletion, 0 if never deleted */
  u32 buckets;
  u32 flows;
  u32 dpo;
  u64 seq;        /* insertion order */
  u64 deleted_ms; /* monotonic ms at deletion */
} as_t;

typedef struct {
  bool in_pool;
  bool used;
  pfx_t pfx;
  u8 proto;
  u16 port;
  u32 encap;
  u8 dscp;
  u32 srv_type;
  u16 target_port;
  u16 node_port;
  u32 new_len;
  bool sticky;
  u32 lb_index; /* route stats index of the prefix */
  u64 deleted_ms;
} vip_t;

typedef struct {
  bool in_use;
  pfx_t pfx;
  u32 lb_index;
} route_t;

typedef struct {
  /* lb_conf */
  u8 ip4_src[4];
  u8 ip6_src[16];
  u32 sticky_buckets;
  u32 flow_timeout;
  /* pools */
  vip_t vips[MAX_VIPS];
  as_t ases[MAX_ASES];
  u64 as_seq;
  u32 dpo_next;
  route_t routes[MAX_VIPS];
  u32 lb_next; /* length of /net/route/to */
  /* stats */
  bool lb_counters_present;
  u32 lb_vec_len;
  u64 lbc[N_LBC][MAX_THREADS][MAX_VIPS];
  u64 rt_packets[MAX_THREADS][MAX_LB_INDEX];
  u64 rt_bytes[MAX_THREADS][MAX_LB_INDEX];
  u32 sticky_usage[MAX_THREADS];
  bool traffic_seen;
  u64 stats_epoch;
  double boottime; /* unix seconds */
  u64 boot_ms;     /* monotonic ms at start */
  bool hb_running;
  double hb_base;
  u64 hb_t0_ms;
} model_t;

/* ------------------------------------------------------------------------ */
/* Queues, faults, global state                                             */
/* ------------------------------------------------------------------------ */

typedef struct node {
  u8 *data;
  int len;
  u64 ready_ns;
  struct node *next;
} node_t;

typedef struct {
  node_t *head, *tail;
  u32 count;
} queue_t;

enum { F_FAIL, F_DROP, F_SLOW };
#define MAX_FAULTS 64
typedef struct {
  int msg;   /* message enum, -1 = any */
  int kind;  /* F_* */
  i64 value; /* retval or delay ms */
  i64 count; /* remaining; -1 = forever */
} fault_t;

#define MISUSE_RING 32
#define RECENT_RING 32
#define CTL_RING 32
#define STR_KNOB 256

typedef struct {
  const char *name;
  i64 *ptr;
  i64 def;
} knob_t;

static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool mem_inited;

  /* numeric knobs */
  i64 timeout_scale_ms, delay_ms, msg_id_base, threads, heartbeat_ms, auto_gc_ms, abort_on_misuse, quiet,
      client_index, connect_delay_ms, shm_files, crash_table_len_above, poll_ms, start_down;
  char version[STR_KNOB];
  char api_prefix[STR_KNOB]; /* "" = no prefix (NULL) */
  char stats_socket[STR_KNOB]; /* "" = accept any path */

  /* the VPP process */
  bool vpp_up;
  bool hung;
  u64 generation; /* VPP instance number, bumped at every start */
  u32 vpp_id_base;
  u64 crashes;
  model_t live;
  model_t frozen; /* snapshot taken when the last instance died */
  u64 frozen_gen;
  bool frozen_valid;

  /* the client connection (one per process, §1.13) */
  bool connected;
  bool connecting;
  u64 conn_gen;
  u32 conn_id_base;
  u32 conn_client_index;
  char client_name[64];
  int rx_qlen;
  queue_t rx;      /* VPP -> client */
  queue_t backlog; /* client -> VPP, not processed yet (hang, stall) */
  u64 last_ready_ns;
  u32 rx_high_water;
  bool stalled;
  u64 stalls;
  void **outstanding;
  u32 n_outstanding, cap_outstanding;
  void (*cb)(unsigned char *, int);
  pthread_t rx_thread;
  bool rx_thread_running, rx_stop, rx_suspended;
  void (*error_handler)(void *, unsigned char *, int);

  /* faults */
  fault_t faults[MAX_FAULTS];
  int n_faults;
  i64 connect_fail_rv, connect_fail_count;
  i64 stats_connect_fail_rv, stats_connect_fail_count;

  /* stats client */
  bool stat_connected;
  u64 stat_gen;
  bool stat_ls_done;
  u64 stat_ls_epoch;

  /* bookkeeping */
  u64 requests, req_count[M_COUNT], unknown_ids, lost_writes, dropped, failed;
  int recent[RECENT_RING];
  u64 n_recent;
  char *misuse[MISUSE_RING];
  u64 n_misuse;
  u64 version_no; /* bumped on every change, for the state file */

  /* control / state files */
  char ctl_path[PATH_MAX];
  char state_path[PATH_MAX];
  off_t ctl_off;
  u64 ctl_applied;
  char *ctl_lines[CTL_RING];
  int ctl_rvs[CTL_RING];
  i64 ctl_tags[CTL_RING];
  pthread_t poll_thread;
  bool poll_running, poll_stop;
} G;

static const knob_t KNOBS[] = {
    {"timeout_scale_ms", &G.timeout_scale_ms, 1000},
    {"delay_ms", &G.delay_ms, 0},
    {"msg_id_base", &G.msg_id_base, 200},
    {"threads", &G.threads, 1},
    {"heartbeat_ms", &G.heartbeat_ms, 10000},
    {"auto_gc_ms", &G.auto_gc_ms, 0},
    {"abort_on_misuse", &G.abort_on_misuse, 0},
    {"quiet", &G.quiet, 0},
    {"client_index", &G.client_index, 0},
    {"connect_delay_ms", &G.connect_delay_ms, 0},
    {"shm_files", &G.shm_files, 0},
    {"crash_table_len_above", &G.crash_table_len_above, 1 << 26},
    {"poll_ms", &G.poll_ms, 20},
    {"start_down", &G.start_down, 0},
};
#define N_KNOBS ((int)(sizeof(KNOBS) / sizeof(KNOBS[0])))

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

static u16 rd16(const u8 *p) { return (u16)((p[0] << 8) | p[1]); }
static u16 bswap16(u16 v) { return (u16)((v << 8) | (v >> 8)); }
static u32 rd32(const u8 *p) { return ((u32)p[0] << 24) | ((u32)p[1] << 16) | ((u32)p[2] << 8) | p[3]; }
static void wr16(u8 *p, u16 v) {
  p[0] = (u8)(v >> 8);
  p[1] = (u8)v;
}
static void wr32(u8 *p, u32 v) {
  p[0] = (u8)(v >> 24);
  p[1] = (u8)(v >> 16);
  p[2] = (u8)(v >> 8);
  p[3] = (u8)v;
}

static u64 now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (u64)ts.tv_sec * 1000000000ull + (u64)ts.tv_nsec;
}
static u64 now_ms(void) { return now_ns() / 1000000ull; }
static double unix_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits on G.cv (G.mu held) until deadline_ns (UINT64_MAX = forever). */
static void cv_wait_until(u64 deadline_ns) {
  if (deadline_ns == UINT64_MAX) {
    pthread_cond_wait(&G.cv, &G.mu);
    return;
  }
  struct timespec ts;
  ts.tv_sec = (time_t)(deadline_ns / 1000000000ull);
  ts.tv_nsec = (long)(deadline_ns % 1000000000ull);
  pthread_cond_timedwait(&G.cv, &G.mu, &ts);
}

/* Sleeps ms with G.mu released, waking early on nothing. */
static void sleep_locked_ms(u64 ms) {
  u64 deadline = now_ns() + ms * 1000000ull;
  while (now_ns() < deadline) cv_wait_until(deadline);
}

static u64 scale_units_ns(u64 units) {
  i64 s = G.timeout_scale_ms < 0 ? 0 : G.timeout_scale_ms;
  return units * (u64)s * 1000000ull;
}

static bool is_pow2(u32 x) { return (x & (x - 1)) == 0; } /* 0 passes, as in VPP */

static void changed(void) {
  G.version_no++;
  pthread_cond_broadcast(&G.cv);
}

/* Dynamic string buffer. */
typedef struct {
  char *p;
  size_t n, cap;
} sb_t;

static void sb_grow(sb_t *s, size_t need) {
  if (s->n + need + 1 <= s->cap) return;
  size_t cap = s->cap ? s->cap : 256;
  while (cap < s->n + need + 1) cap *= 2;
  char *np = realloc(s->p, cap);
  if (!np) abort();
  s->p = np;
  s->cap = cap;
}

__attribute__((format(printf, 2, 3))) static void sb_printf(sb_t *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int need = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (need <= 0) return;
  sb_grow(s, (size_t)need);
  va_start(ap, fmt);
  vsnprintf(s->p + s->n, (size_t)need + 1, fmt, ap);
  va_end(ap);
  s->n += (size_t)need;
}

static void sb_json_str(sb_t *s, const char *str) {
  sb_printf(s, "\"");
  for (const unsigned char *c = (const unsigned char *)str; *c; c++) {
    if (*c == '"' || *c == '\\')
      sb_printf(s, "\\%c", *c);
    else if (*c == '\n')
      sb_printf(s, "\\n");
    else if (*c < 0x20 || *c >= 0x7f)
      sb_printf(s, "\\u%04x", *c);
    else
      sb_printf(s, "%c", *c);
  }
  sb_printf(s, "\"");
}

static void fmt_addr(u8 af, const u8 *a, char *out, size_t outlen) {
  if (af == 0)
    inet_ntop(AF_INET, a, out, (socklen_t)outlen);
  else
    inet_ntop(AF_INET6, a, out, (socklen_t)outlen);
}

static void fmt_pfx(const pfx_t *p, char *out, size_t outlen) {
  char a[INET6_ADDRSTRLEN];
  fmt_addr(p->af, p->a, a, sizeof a);
  snprintf(out, outlen, "%s/%u", a, p->len);
}

static const char *encap_name(u32 e) {
  static const char *const n[] = {"gre4", "gre6", "l3dsr", "nat4", "nat6"};
  return e < ENCAP_N ? n[e] : "invalid";
}

/* format_lb_vip_type of the lb plugin: the VIP family and the encap. */
static const char *vip_type_name(const vip_t *v) {
  switch (v->encap) {
  case ENCAP_GRE4:
    return v->pfx.af == 0 ? "ip4-gre4" : "ip6-gre4";
  case ENCAP_GRE6:
    return v->pfx.af == 0 ? "ip4-gre6" : "ip6-gre6";
  case ENCAP_L3DSR:
    return "ip4-l3dsr";
  case ENCAP_NAT4:
    return "ip4-nat4";
  case ENCAP_NAT6:
    return "ip6-nat6";
  }
  return "invalid";
}

/* ------------------------------------------------------------------------ */
/* Misuse reporting                                                         */
/* ------------------------------------------------------------------------ */

__attribute__((format(printf, 1, 2))) static void misuse(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (!G.quiet || G.abort_on_misuse) fprintf(stderr, "fakevpp: misuse: %s\n", buf);
  if (G.abort_on_misuse) abort();
  int slot = (int)(G.n_misuse % MISUSE_RING);
  free(G.misuse[slot]);
  G.misuse[slot] = strdup(buf);
  G.n_misuse++;
  changed();
}

/* ------------------------------------------------------------------------ */
/* Prefixes                                                                 */
/* ------------------------------------------------------------------------ */

static int af_bits(u8 af) { return af == 0 ? 32 : 128; }

static void pfx_normalize(pfx_t *p) {
  int bits = af_bits(p->af);
  int len = p->len > bits ? bits : p->len;
  if (p->af == 0) memset(p->a + 4, 0, 12);
  for (int i = 0; i < bits / 8; i++) {
    int keep = len - i * 8;
    if (keep >= 8) continue;
    if (keep <= 0)
      p->a[i] = 0;
    else
      p->a[i] &= (u8)(0xff << (8 - keep));
  }
}

static bool pfx_eq(const pfx_t *x, const pfx_t *y) {
  return x->af == y->af && x->len == y->len && memcmp(x->a, y->a, 16) == 0;
}

static bool pfx_contains(const pfx_t *p, u8 af, const u8 *addr) {
  if (p->af != af) return false;
  pfx_t q = {.af = af, .len = p->len};
  memcpy(q.a, addr, 16);
  pfx_normalize(&q);
  return memcmp(q.a, p->a, 16) == 0;
}

/* Decodes a wire `prefix` (18 bytes: af, 16-byte union, len). */
static pfx_t pfx_decode(const u8 *p) {
  pfx_t x;
  x.af = p[0];
  memcpy(x.a, p + 1, 16);
  x.len = p[17];
  return x;
}

static void pfx_encode(u8 *p, const pfx_t *x) {
  p[0] = x->af;
  memcpy(p + 1, x->a, 16);
  p[17] = x->len;
}

/* ------------------------------------------------------------------------ */
/* Model operations                                                         */
/* ------------------------------------------------------------------------ */

static u32 uptime_s(const model_t *m) { return (u32)((now_ms() - m->boot_ms) / 1000); }

static double hb_value(const model_t *m) {
  if (!m->hb_running) return m->hb_base;
  i64 period = G.heartbeat_ms > 0 ? G.heartbeat_ms : 10000;
  return m->hb_base + (double)((now_ms() - m->hb_t0_ms) / (u64)period);
}

static void hb_freeze(model_t *m) {
  m->hb_base = hb_value(m);
  m->hb_running = false;
}

static void hb_resume(model_t *m) {
  if (m->hb_running) return;
  m->hb_t0_ms = now_ms();
  m->hb_running = true;
}

static void model_init(model_t *m) {
  memset(m, 0, sizeof *m);
  memset(m->ip4_src, 0xff, 4); /* golden lb_conf_get_reply.defaults */
  memset(m->ip6_src, 0xff, 16);
  m->sticky_buckets = 1024;
  m->flow_timeout = 40;
  m->dpo_next = 9;
  m->lb_next = LB_INDEX_FIRST_FREE;
  m->stats_epoch = 1;
  m->boottime = (double)(i64)unix_now();
  m->boot_ms = now_ms();
  m->hb_base = 1;
  m->hb_t0_ms = m->boot_ms;
  m->hb_running = true;
}

/* num_buckets: the new-flow table split among used ASes with weight > 0,
 * proportionally to weight (largest remainder, ties in insertion order).
 * Deterministic and sums to new_len; real VPP's Maglev fill differs a bit
 * (100 vs 200 gave 362/662, this gives 341/683). */
static void split_proportional(u64 total, const u64 *w, u32 n, u64 *out) {
  u64 W = 0;
  for (u32 i = 0; i < n; i++) W += w[i];
  if (W == 0) {
    for (u32 i = 0; i < n; i++) out[i] = 0;
    return;
  }
  u64 given = 0;
  u64 *rem = calloc(n ? n : 1, sizeof(u64));
  for (u32 i = 0; i < n; i++) {
    out[i] = total * w[i] / W;
    rem[i] = total * w[i] % W;
    given += out[i];
  }
  while (given < total) {
    u32 best = 0;
    bool found = false;
    for (u32 i = 0; i < n; i++) {
      if (w[i] == 0) continue;
      if (!found || rem[i] > rem[best]) {
        best = i;
        found = true;
      }
    }
    out[best]++;
    rem[best] = 0;
    given++;
  }
  free(rem);
}

/* Indexes of the ASes of a VIP in insertion order. Returns the count. */
static u32 vip_as_list(const model_t *m, u32 vi, u32 *out) {
  u32 n = 0;
  for (u32 i = 0; i < MAX_ASES; i++)
    if (m->ases[i].in_pool && m->ases[i].vip == vi) out[n++] = i;
  /* insertion sort by seq */
  for (u32 i = 1; i < n; i++) {
    u32 x = out[i];
    u32 j = i;
    while (j > 0 && m->ases[out[j - 1]].seq > m->ases[x].seq) {
      out[j] = out[j - 1];
      j--;
    }
    out[j] = x;
  }
  return n;
}

static u32 g_as_idx[MAX_ASES];
static u64 g_w[MAX_ASES], g_out[MAX_ASES];

static int as_addr_cmp(const as_t *a, const as_t *b) {
  if (a->af != b->af) return a->af < b->af ? -1 : 1;
  return memcmp(a->addr, b->addr, 16);
}

/* The split's remainders go to ASes in address order, not insertion order:
 * VPP sorts its Maglev permutations by (replica, address), so the same ASes
 * added in any order get the same buckets (measured: 342/341/341 for three
 * equal weights, the extra bucket on the lowest address either way). */
static void vip_recompute(model_t *m, u32 vi) {
  vip_t *v = &m->vips[vi];
  u32 n = vip_as_list(m, vi, g_as_idx);
  for (u32 i = 1; i < n; i++) {
    u32 x = g_as_idx[i];
    u32 j = i;
    while (j > 0 && as_addr_cmp(&m->ases[g_as_idx[j - 1]], &m->ases[x]) > 0) {
      g_as_idx[j] = g_as_idx[j - 1];
      j--;
    }
    g_as_idx[j] = x;
  }
  for (u32 i = 0; i < n; i++) {
    as_t *a = &m->ases[g_as_idx[i]];
    g_w[i] = (v->used && a->used) ? a->weight : 0;
  }
  split_proportional(v->new_len, g_w, n, g_out);
  for (u32 i = 0; i < n; i++) m->ases[g_as_idx[i]].buckets = (u32)g_out[i];
}

static bool has_servers(model_t *m, u32 vi) {
  for (u32 i = 0; i < MAX_ASES; i++)
    if (m->ases[i].in_pool && m->ases[i].vip == vi && m->ases[i].used && m->ases[i].buckets > 0) return true;
  return false;
}

/* Finds a used VIP by (normalised prefix, protocol, port). */
static int vip_find(model_t *m, pfx_t pfx, u8 proto, u16 port) {
  pfx_normalize(&pfx);
  if (port == 0) proto = 255;
  for (u32 i = 1; i < MAX_VIPS; i++) {
    vip_t *v = &m->vips[i];
    if (v->in_pool && v->used && pfx_eq(&v->pfx, &pfx) && v->proto == proto && v->port == port) return (int)i;
  }
  return -1;
}

static bool encap_wants_ip4_as(u32 encap) {
  return encap == ENCAP_GRE4 || encap == ENCAP_L3DSR || encap == ENCAP_NAT4;
}

typedef struct {
  pfx_t pfx;
  u8 proto;
  u16 port;
  u32 encap;
  u8 dscp;
  u32 srv_type;
  u16 target_port;
  u16 node_port;
  u32 new_len;
  bool sticky;
} vip_args_t;

static int route_find(model_t *m, const pfx_t *p) {
  for (u32 i = 0; i < MAX_VIPS; i++)
    if (m->routes[i].in_use && pfx_eq(&m->routes[i].pfx, p)) return (int)i;
  return -1;
}

static int lb_vip_add(model_t *m, vip_args_t *a, u32 *index_out) {
  if (a->pfx.af > 1) return RV_INVALID_ADDRESS_FAMILY; /* VPP: undefined; refused here */
  if (a->pfx.len > af_bits(a->pfx.af)) return RV_INVALID_ARGUMENT; /* VPP: accepted; refused here */
  pfx_normalize(&a->pfx);
  if (a->port == 0) a->proto = 255; /* all-port VIP (§4.3) */
  /* The API handler's encap → VIP type mapping (measured): an encap the
   * family has no type for leaves the type at 0, ip6-gre6. So IPv6 with
   * l3dsr, nat4 or an unknown encap is stored as gre6, and IPv4 with nat6 or
   * an unknown encap gets an IPv6 type, refused below with -97. Only l3dsr
   * takes the dscp (masked to 6 bits), only nat4/nat6 the service type and
   * target port; node_port never reaches the VIP. */
  u32 want = a->encap;
  u8 type_af = a->pfx.af;
  if (a->pfx.af == 0 ? want > ENCAP_NAT4 : (want != ENCAP_GRE4 && want != ENCAP_GRE6 && want != ENCAP_NAT6)) {
    a->encap = ENCAP_GRE6;
    type_af = 1;
  }
  /* dscp and srv_type share one byte in VPP (a union): the details show it
   * in both fields. */
  if (want == ENCAP_L3DSR) {
    a->dscp = (u8)(a->dscp & 0x3f);
    a->srv_type = a->dscp;
    a->target_port = 0;
  } else if (want == ENCAP_NAT4 || want == ENCAP_NAT6) {
    a->dscp = (u8)a->srv_type;
  } else {
    a->dscp = 0;
    a->srv_type = 0;
    a->target_port = 0;
  }
  a->node_port = 0;
  if (vip_find(m, a->pfx, a->proto, a->port) >= 0) return RV_VALUE_EXIST;
  for (u32 i = 1; i < MAX_VIPS; i++) {
    vip_t *v = &m->vips[i];
    if (!v->in_pool || !v->used || !pfx_eq(&v->pfx, &a->pfx)) continue;
    /* per-port VIP next to an all-port VIP and vice versa */
    if ((v->port == 0) != (a->port == 0)) return RV_VALUE_EXIST;
  }
  for (u32 i = 1; i < MAX_VIPS; i++) {
    vip_t *v = &m->vips[i];
    if (!v->in_pool || !v->used || !pfx_eq(&v->pfx, &a->pfx)) continue;
    /* same prefix, another VIP type */
    if (v->encap != a->encap || v->pfx.af != type_af) return RV_INVALID_ARGUMENT;
  }
  if (!is_pow2(a->new_len)) return RV_INVALID_MEMORY_SIZE;
  if (type_af != a->pfx.af) return RV_INVALID_ADDRESS_FAMILY;
  /* 0 passes the power-of-two check and makes VPP allocate 2^32 entries:
   * SIGABRT (§5). Absurdly large tables are assumed to die the same way. */
  if (a->new_len == 0 || (G.crash_table_len_above > 0 && (i64)a->new_len > G.crash_table_len_above))
    return RV_CRASH;
  u32 vi = 0;
  for (u32 i = 1; i < MAX_VIPS; i++)
    if (!m->vips[i].in_pool) {
      vi = i;
      break;
    }
  if (vi == 0) {
    if (!G.quiet) fprintf(stderr, "fakevpp: VIP pool full (%d)\n", MAX_VIPS);
    return RV_UNSPECIFIED;
  }
  int r = route_find(m, &a->pfx);
  if (r < 0) {
    for (u32 i = 0; i < MAX_VIPS; i++)
      if (!m->routes[i].in_use) {
        r = (int)i;
        break;
      }
    if (r < 0 || m->lb_next + 2 > MAX_LB_INDEX) return RV_UNSPECIFIED;
    m->routes[r].in_use = true;
    m->routes[r].pfx = a->pfx;
    m->routes[r].lb_index = m->lb_next;
    for (int t = 0; t < MAX_THREADS; t++) {
      m->rt_packets[t][m->lb_next] = 0;
      m->rt_bytes[t][m->lb_next] = 0;
    }
    m->lb_next += 2; /* golden: 8 then 10 */
  }
  vip_t *v = &m->vips[vi];
  memset(v, 0, sizeof *v);
  v->in_pool = true;
  v->used = true;
  v->pfx = a->pfx;
  v->proto = a->proto;
  v->port = a->port;
  v->encap = a->encap;
  v->dscp = a->dscp;
  v->srv_type = a->srv_type;
  v->target_port = a->target_port;
  v->node_port = a->node_port;
  v->new_len = a->new_len;
  v->sticky = a->sticky;
  v->lb_index = m->routes[r].lb_index;
  if (!m->lb_counters_present) {
    m->lb_counters_present = true; /* the four counters appear: new directory entries */
    m->stats_epoch++;
  }
  if (m->lb_vec_len < vi + 1) m->lb_vec_len = vi + 1;
  for (int k = 0; k < N_LBC; k++)
    for (int t = 0; t < MAX_THREADS; t++) m->lbc[k][t][vi] = 0;
  if (index_out) *index_out = vi;
  return RV_OK;
}

static void as_delete(model_t *m, as_t *a) {
  a->used = false;
  a->in_use_since = uptime_s(m);
  a->deleted_ms = now_ms();
  a->flows = 0;
}

static int lb_vip_del(model_t *m, pfx_t pfx, u8 proto, u16 port) {
  int vi = vip_find(m, pfx, proto, port);
  if (vi < 0) return RV_NO_SUCH_ENTRY;
  vip_t *v = &m->vips[vi];
  /* VPP deletes every AS of the VIP, deleted ones again (restamped). */
  for (u32 i = 0; i < MAX_ASES; i++)
    if (m->ases[i].in_pool && m->ases[i].vip == (u32)vi) as_delete(m, &m->ases[i]);
  v->used = false;
  v->deleted_ms = now_ms();
  vip_recompute(m, (u32)vi);
  bool other = false;
  for (u32 i = 1; i < MAX_VIPS; i++)
    if (m->vips[i].in_pool && m->vips[i].used && pfx_eq(&m->vips[i].pfx, &v->pfx)) other = true;
  if (!other) {
    int r = route_find(m, &v->pfx);
    if (r >= 0) m->routes[r].in_use = false;
  }
  return RV_OK;
}

static int as_find(model_t *m, u32 vi, u8 af, const u8 *addr) {
  for (u32 i = 0; i < MAX_ASES; i++) {
    as_t *a = &m->ases[i];
    if (a->in_pool && a->vip == vi && a->af == af && memcmp(a->addr, addr, 16) == 0) return (int)i;
  }
  return -1;
}

static void as_addr_normalize(u8 af, u8 *addr) {
  if (af == 0) memset(addr + 4, 0, 12);
}

static int lb_as_add(model_t *m, pfx_t pfx, u8 proto, u16 port, u8 af, u8 *addr, u8 weight) {
  int vi = vip_find(m, pfx, proto, port);
  if (vi < 0) return RV_NO_SUCH_ENTRY;
  vip_t *v = &m->vips[vi];
  as_addr_normalize(af, addr);
  if (af > 1 || (af == 0) != encap_wants_ip4_as(v->encap)) return RV_INVALID_ADDRESS_FAMILY;
  int ai = as_find(m, (u32)vi, af, addr);
  if (ai >= 0) {
    as_t *a = &m->ases[ai];
    if (a->used) return RV_VALUE_EXIST;
    a->used = true; /* revived before garbage collection */
    a->weight = weight;
    a->deleted_ms = 0;
  } else {
    for (u32 i = 0; i < MAX_ASES; i++)
      if (!m->ases[i].in_pool) {
        ai = (int)i;
        break;
      }
    if (ai < 0) {
      if (!G.quiet) fprintf(stderr, "fakevpp: AS pool full (%d)\n", MAX_ASES);
      return RV_UNSPECIFIED;
    }
    as_t *a = &m->ases[ai];
    memset(a, 0, sizeof *a);
    a->in_pool = true;
    a->used = true;
    a->vip = (u32)vi;
    a->af = af;
    memcpy(a->addr, addr, 16);
    a->weight = weight;
    a->seq = ++m->as_seq;
    a->dpo = m->dpo_next;
    m->dpo_next += 2;
  }
  vip_recompute(m, (u32)vi);
  return RV_OK;
}

static int lb_as_del(model_t *m, pfx_t pfx, u8 proto, u16 port, u8 af, u8 *addr) {
  int vi = vip_find(m, pfx, proto, port);
  if (vi < 0) return RV_NO_SUCH_ENTRY;
  as_addr_normalize(af, addr);
  int ai = as_find(m, (u32)vi, af, addr);
  if (ai < 0) return RV_NO_SUCH_ENTRY;
  /* Deleting a deleted AS succeeds again and restamps in_use_since
   * (measured). */
  as_delete(m, &m->ases[ai]);
  vip_recompute(m, (u32)vi);
  return RV_OK;
}

static int lb_as_set_weight(model_t *m, pfx_t pfx, u8 proto, u16 port, u8 af, u8 *addr, u8 weight) {
  int vi = vip_find(m, pfx, proto, port);
  if (vi < 0) return RV_NO_SUCH_ENTRY;
  as_addr_normalize(af, addr);
  int ai = as_find(m, (u32)vi, af, addr);
  if (ai < 0 || !m->ases[ai].used) return RV_NO_SUCH_ENTRY; /* a deleted AS too (measured) */
  m->ases[ai].weight = weight; /* no range check: 101, 255 accepted (§5) */
  vip_recompute(m, (u32)vi);
  return RV_OK;
}

/* The lb garbage collector: frees deleted ASes older than min_age_ms and
 * removed VIPs that no longer have ASes. Returns how many were freed. */
static u32 lb_gc(model_t *m, u64 min_age_ms) {
  u64 now = now_ms();
  u32 freed = 0;
  for (u32 i = 0; i < MAX_ASES; i++) {
    as_t *a = &m->ases[i];
    if (a->in_pool && !a->used && now - a->deleted_ms >= min_age_ms) {
      a->in_pool = false;
      freed++;
    }
  }
  for (u32 vi = 1; vi < MAX_VIPS; vi++) {
    vip_t *v = &m->vips[vi];
    if (!v->in_pool || v->used || now - v->deleted_ms < min_age_ms) continue;
    bool has = false;
    for (u32 i = 0; i < MAX_ASES; i++)
      if (m->ases[i].in_pool && m->ases[i].vip == vi) has = true;
    if (!has) {
      v->in_pool = false;
      freed++;
    }
  }
  return freed;
}

static void maybe_auto_gc(void) {
  if (G.vpp_up && G.auto_gc_ms > 0 && lb_gc(&G.live, (u64)G.auto_gc_ms) > 0) changed();
}

static i64 threads_n(void) {
  i64 t = G.threads;
  if (t < 1) t = 1;
  if (t > MAX_THREADS) t = MAX_THREADS;
  return t;
}

/* Injects packets of `flows` flows to a VIP (see README "traffic"). */
static int model_traffic(model_t *m, u32 vi, u64 packets, u64 flows, u64 bytes_pp, u32 thread, u64 untracked) {
  if (vi >= MAX_VIPS || (vi != 0 && !m->vips[vi].in_pool)) return RV_NO_SUCH_ENTRY;
  if (thread >= (u32)threads_n()) return RV_INVALID_ARGUMENT;
  if (vi != 0 && !m->lb_counters_present) return RV_NO_SUCH_ENTRY;
  if (vi == 0 && !m->lb_counters_present) return RV_NO_SUCH_ENTRY;
  m->traffic_seen = true;
  if (flows > packets) flows = packets;
  if (untracked > flows) untracked = flows;
  if (vi == 0 || !m->vips[vi].used || !has_servers(m, vi)) {
    m->lbc[LBC_NOSERVER][thread][vi] += packets;
  } else {
    m->lbc[LBC_FIRST][thread][vi] += flows - untracked;
    m->lbc[LBC_UNTRACKED][thread][vi] += untracked;
    m->lbc[LBC_EXISTING][thread][vi] += packets - flows;
    u32 n = vip_as_list(m, vi, g_as_idx);
    for (u32 i = 0; i < n; i++) g_w[i] = m->ases[g_as_idx[i]].used ? m->ases[g_as_idx[i]].buckets : 0;
    split_proportional(flows - untracked, g_w, n, g_out);
    for (u32 i = 0; i < n; i++) m->ases[g_as_idx[i]].flows += (u32)g_out[i];
    m->sticky_usage[thread] += (u32)(flows - untracked);
  }
  if (vi != 0 && m->vips[vi].used) {
    u32 li = m->vips[vi].lb_index;
    m->rt_packets[thread][li] += packets;
    m->rt_bytes[thread][li] += packets * bytes_pp;
  }
  return RV_OK;
}

/* ------------------------------------------------------------------------ */
/* Queues                                                                   */
/* ------------------------------------------------------------------------ */

static void q_push(queue_t *q, u8 *data, int len, u64 ready_ns) {
  node_t *n = calloc(1, sizeof *n);
  if (!n) abort();
  n->data = data;
  n->len = len;
  n->ready_ns = ready_ns;
  if (q->tail)
    q->tail->next = n;
  else
    q->head = n;
  q->tail = n;
  q->count++;
}

static node_t *q_pop(queue_t *q) {
  node_t *n = q->head;
  if (!n) return NULL;
  q->head = n->next;
  if (!q->head) q->tail = NULL;
  q->count--;
  return n;
}

static void q_clear(queue_t *q) {
  node_t *n;
  while ((n = q_pop(q))) {
    free(n->data);
    free(n);
  }
}

/* Drops messages VPP had not sent yet (delayed replies) when it dies. */
static void q_drop_future(queue_t *q, u64 now) {
  queue_t keep = {0};
  node_t *n;
  while ((n = q_pop(q))) {
    if (n->ready_ns <= now) {
      q_push(&keep, n->data, n->len, n->ready_ns);
    } else {
      free(n->data);
    }
    free(n);
  }
  *q = keep;
}

/* ------------------------------------------------------------------------ */
/* VPP lifecycle                                                            */
/* ------------------------------------------------------------------------ */

static bool conn_alive(void) { return G.connected && G.vpp_up && G.conn_gen == G.generation; }

static void vpp_start(void) {
  G.generation++;
  model_init(&G.live);
  G.vpp_id_base = (u32)(G.msg_id_base < 1 ? 1 : G.msg_id_base > 60000 ? 60000 : G.msg_id_base);
  G.vpp_up = true;
  G.hung = false;
  G.shm_files = 0;
  changed();
}

/* VPP stops or crashes. stale_files: /dev/shm files are left behind (a
 * client was attached, or it crashed), so vac_connect fails with -1 after
 * 10 s instead of polling for 101 s (§1.4, §7). */
static void vpp_die(bool stale_files, bool crash) {
  if (!G.vpp_up) return;
  hb_freeze(&G.live);
  memcpy(&G.frozen, &G.live, sizeof G.frozen);
  G.frozen_gen = G.generation;
  G.frozen_valid = true;
  G.vpp_up = false;
  G.hung = false;
  G.shm_files = stale_files ? 1 : 0;
  if (crash) G.crashes++;
  q_clear(&G.backlog);
  q_drop_future(&G.rx, now_ns());
  G.stalled = false;
  changed();
}

/* ------------------------------------------------------------------------ */
/* Request handling (G.mu held)                                             */
/* ------------------------------------------------------------------------ */

static u64 g_req_ready_ns; /* ready time of the replies of the current request */

static u8 *reply_new(int msg, int len, const u8 *req) {
  u8 *r = calloc(1, (size_t)len);
  if (!r) abort();
  wr16(r, (u16)(G.vpp_id_base + (u32)msg));
  memcpy(r + 2, req + 6, 4); /* context: copied verbatim */
  return r;
}

static void emit(u8 *msg, int len) {
  q_push(&G.rx, msg, len, g_req_ready_ns);
  if (G.rx.count > G.rx_high_water) G.rx_high_water = G.rx.count;
}

static void reply_rv(int msg, const u8 *req, int rv) {
  u8 *r = reply_new(msg, MSGS[msg].fixed, req);
  wr32(r + 6, (u32)rv);
  emit(r, MSGS[msg].fixed);
}

static void h_control_ping(const u8 *req) {
  u8 *r = reply_new(M_CONTROL_PING_REPLY, 18, req);
  memcpy(r + 10, req + 2, 4); /* client_index as stamped, host order */
  wr32(r + 14, (u32)(27374 + G.generation));
  emit(r, 18);
}

static void put_str(u8 *dst, size_t n, const char *s) {
  size_t l = strlen(s);
  if (l > n - 1) l = n - 1;
  memcpy(dst, s, l);
}

static void h_show_version(const u8 *req) {
  u8 *r = reply_new(M_SHOW_VERSION_REPLY, 362, req);
  put_str(r + 10, 32, "vpe");
  put_str(r + 42, 32, G.version);
  put_str(r + 74, 32, "2026-11-21T03:09:21");
  emit(r, 362);
}

static void h_lb_conf_get(const u8 *req) {
  model_t *m = &G.live;
  u8 *r = reply_new(M_LB_CONF_GET_REPLY, 38, req);
  memcpy(r + 10, m->ip4_src, 4);
  memcpy(r + 14, m->ip6_src, 16);
  wr32(r + 30, m->sticky_buckets);
  wr32(r + 34, m->flow_timeout);
  emit(r, 38);
}

static int h_lb_conf(const u8 *req) {
  model_t *m = &G.live;
  u32 sticky = rd32(req + 30), timeout = rd32(req + 34);
  if (sticky != 0xffffffff && !is_pow2(sticky)) return RV_INVALID_MEMORY_SIZE;
  if (sticky == 0) misuse("lb_conf sticky_buckets_per_core 0 (passes VPP's power-of-two check; never tested)");
  memcpy(m->ip4_src, req + 10, 4);
  memcpy(m->ip6_src, req + 14, 16);
  if (sticky != 0xffffffff) m->sticky_buckets = sticky;
  if (timeout != 0xffffffff) m->flow_timeout = timeout;
  return RV_OK;
}

static int h_vip(const u8 *req, bool v2) {
  vip_args_t a;
  memset(&a, 0, sizeof a);
  a.pfx = pfx_decode(req + 10);
  a.proto = req[28];
  a.port = rd16(req + 29);
  a.encap = rd32(req + 31);
  a.dscp = req[35];
  /* VPP stores the u32 enum unconverted into a u8: its first wire byte. */
  a.srv_type = req[36];
  a.target_port = rd16(req + 40);
  a.node_port = rd16(req + 42);
  a.new_len = rd32(req + 44);
  a.sticky = v2 ? req[48] != 0 : false;
  bool is_del = v2 ? req[49] != 0 : req[48] != 0;
  if (is_del) return lb_vip_del(&G.live, a.pfx, a.proto, a.port);
  return lb_vip_add(&G.live, &a, NULL);
}

static int h_as(const u8 *req, bool v2) {
  pfx_t pfx = pfx_decode(req + 10);
  u8 proto = req[28];
  u16 port = rd16(req + 29);
  u8 af = req[31];
  u8 addr[16];
  memcpy(addr, req + 32, 16);
  u8 weight = v2 ? req[48] : 100; /* v1 has no weight: assumed 100 */
  bool is_del = v2 ? req[49] != 0 : req[48] != 0;
  if (is_del) return lb_as_del(&G.live, pfx, proto, port, af, addr);
  return lb_as_add(&G.live, pfx, proto, port, af, addr, weight);
}

static int h_set_weight(const u8 *req) {
  u8 addr[16];
  memcpy(addr, req + 32, 16);
  return lb_as_set_weight(&G.live, pfx_decode(req + 10), req[28], rd16(req + 29), req[31], addr, req[48]);
}

static int h_flush_vip(const u8 *req) {
  return vip_find(&G.live, pfx_decode(req + 10), req[28], rd16(req + 29)) < 0 ? RV_NO_SUCH_ENTRY : RV_OK;
}

/* lb_vip_details (40 bytes); flow_table_length is a u16 (65536 -> 0). */
static void h_vip_dump(const u8 *req) {
  model_t *m = &G.live;
  for (u32 vi = 1; vi < MAX_VIPS; vi++) {
    vip_t *v = &m->vips[vi];
    if (!v->in_pool || !v->used) continue; /* filter ignored (§4.3) */
    u8 *r = reply_new(M_LB_VIP_DETAILS, 40, req);
    pfx_encode(r + 6, &v->pfx);
    r[24] = v->proto;
    wr16(r + 25, v->port);
    wr32(r + 27, v->encap);
    r[31] = v->dscp;
    r[32] = (u8)v->srv_type; /* VPP writes it in host (little-endian) order */
    wr16(r + 36, bswap16(v->target_port)); /* VPP swaps it once too often */
    wr16(r + 38, (u16)(v->new_len & 0xffff));
    emit(r, 40);
  }
}

/* lb_as_v2_details (54) / lb_as_details (49). The filter behaves like the
 * real one (§4.3): all-zero union bytes dump everything; otherwise the 16
 * bytes are compared raw with VPP's internal ip46 form (IPv4 in bytes
 * 12..15) and protocol and port must match; the family byte and the
 * length are not looked at. Removed VIPs awaiting gc are dumped too (their
 * ASes all deleted, flags 0), as VPP walks its whole VIP pool. */
static void h_as_dump(const u8 *req, bool v2) {
  model_t *m = &G.live;
  static const u8 zero[16];
  const u8 *fa = req + 11;
  bool all = memcmp(fa, zero, 16) == 0;
  u8 fproto = req[28];
  u16 fport = rd16(req + 29);
  int msg = v2 ? M_LB_AS_V2_DETAILS : M_LB_AS_DETAILS;
  int len = MSGS[msg].fixed;
  for (u32 vi = 1; vi < MAX_VIPS; vi++) {
    vip_t *v = &m->vips[vi];
    if (!v->in_pool) continue;
    if (!all) {
      u8 internal[16] = {0};
      if (v->pfx.af == 0)
        memcpy(internal + 12, v->pfx.a, 4);
      else
        memcpy(internal, v->pfx.a, 16);
      if (memcmp(internal, fa, 16) != 0 || v->proto != fproto || v->port != fport) continue;
    }
    u32 n = vip_as_list(m, vi, g_as_idx);
    for (u32 i = 0; i < n; i++) {
      as_t *a = &m->ases[g_as_idx[i]];
      u8 *r = reply_new(msg, len, req);
      pfx_encode(r + 6, &v->pfx);
      r[24] = v->proto;
      wr16(r + 25, v->port);
      r[27] = a->af;
      memcpy(r + 28, a->addr, 16);
      r[44] = a->used ? 1 : 0;
      wr32(r + 45, a->in_use_since);
      if (v2) {
        r[49] = a->weight;
        wr32(r + 50, a->used ? a->buckets : 0);
      }
      emit(r, len);
    }
  }
}

/* ip_route_lookup_reply: 37 bytes + 1 path of 167 (§4.3). */
static void h_route_lookup(const u8 *req) {
  model_t *m = &G.live;
  u32 table = rd32(req + 10);
  bool exact = req[14] != 0;
  pfx_t q = pfx_decode(req + 15);
  int rv = RV_NO_SUCH_ENTRY;
  pfx_t found = {0};
  u32 lb_index = 0;
  u32 path_type = 0;
  if (table == 0 && q.af <= 1) {
    if (q.len > af_bits(q.af)) q.len = (u8)af_bits(q.af);
    pfx_normalize(&q);
    if (exact) {
      int r = route_find(m, &q);
      if (r >= 0) {
        rv = RV_OK;
        found = m->routes[r].pfx;
        lb_index = m->routes[r].lb_index;
      }
    } else {
      int best = -1;
      for (u32 i = 0; i < MAX_VIPS; i++) {
        route_t *rt = &m->routes[i];
        if (!rt->in_use || rt->pfx.len > q.len || !pfx_contains(&rt->pfx, q.af, q.a)) continue;
        if (best < 0 || rt->pfx.len > m->routes[best].pfx.len) best = (int)i;
      }
      rv = RV_OK;
      if (best >= 0) {
        found = m->routes[best].pfx;
        lb_index = m->routes[best].lb_index;
      } else {
        found.af = q.af; /* default route, a drop path */
        lb_index = q.af == 0 ? LB_INDEX_IP4_DEFAULT : LB_INDEX_IP6_DEFAULT;
        path_type = 2;
      }
    }
  }
  int len = rv == RV_OK ? 37 + 167 : 37;
  u8 *r = reply_new(M_IP_ROUTE_LOOKUP_REPLY, len, req);
  wr32(r + 6, (u32)rv);
  if (rv == RV_OK) {
    wr32(r + 10, 0);
    wr32(r + 14, lb_index);
    pfx_encode(r + 18, &found);
    r[36] = 1;
    u8 *p = r + 37;
    wr32(p + 0, 0xffffffff); /* sw_if_index */
    p[12] = 1;               /* weight */
    wr32(p + 14, path_type);
    wr32(p + 22, found.af); /* nh proto: IP4 0 / IP6 1 */
  }
  emit(r, len);
}

/* --- CLI ---------------------------------------------------------------- */

static void cli_show_lb(sb_t *s) {
  model_t *m = &G.live;
  char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];
  fmt_addr(0, m->ip4_src, a4, sizeof a4);
  fmt_addr(1, m->ip6_src, a6, sizeof a6);
  u32 nv = 1, na = 0; /* the placeholder VIP 0 is counted (§4.3) */
  for (u32 i = 1; i < MAX_VIPS; i++) nv += m->vips[i].in_pool;
  for (u32 i = 0; i < MAX_ASES; i++) na += m->ases[i].in_pool;
  sb_printf(s, "lb_main ip4-src-address: %s \n ip6-src-address: %s \n #vips: %u\n #ass: %u\n", a4, a6, nv, na);
  if (m->traffic_seen)
    for (i64 t = 0; t < threads_n(); t++)
      sb_printf(s, "core %u\n  timeout: %us\n  usage: %u / %u\n", (u32)t, m->flow_timeout, m->sticky_usage[t],
                m->sticky_buckets + 3);
}

static u64 lbc_sum(const model_t *m, int k, u32 vi) {
  u64 s = 0;
  for (i64 t = 0; t < threads_n(); t++) s += m->lbc[k][t][vi];
  return s;
}

static void cli_show_vips(sb_t *s, bool verbose) {
  model_t *m = &G.live;
  for (u32 vi = 1; vi < MAX_VIPS; vi++) {
    vip_t *v = &m->vips[vi];
    if (!v->in_pool) continue;
    char p[64];
    fmt_pfx(&v->pfx, p, sizeof p);
    u32 n = vip_as_list(m, vi, g_as_idx);
    if (!verbose) {
      /* format_lb_vip: no index, no src_ip_sticky (measured) */
      sb_printf(s, "%s %s new_size:%u #as:%u%s", vip_type_name(v), p, v->new_len, n, v->used ? "" : " removed");
      if (v->port != 0) sb_printf(s, "  protocol:%u port:%u ", v->proto, v->port);
      if (v->encap == ENCAP_L3DSR) sb_printf(s, "  dscp:%u", v->dscp);
      if (v->encap == ENCAP_NAT4 || v->encap == ENCAP_NAT6)
        sb_printf(s, " type:%s port:%u target_port:%u", v->srv_type ? "nodeport" : "clusterip", bswap16(v->port),
                  v->target_port);
      sb_printf(s, "\n");
      continue;
    }
    sb_printf(s, " %s [%u] %s%s%s\n  new_size:%u\n", vip_type_name(v), vi, p, v->sticky ? " src_ip_sticky" : "",
              v->used ? "" : " removed", v->new_len);
    if (v->port != 0) sb_printf(s, "  protocol:%u port:%u\n", v->proto, v->port);
    if (v->encap == ENCAP_L3DSR) sb_printf(s, "  dscp:%u\n", v->dscp);
    /* VPP prints the port byte-swapped and ends the line without \n. */
    if (v->encap == ENCAP_NAT4 || v->encap == ENCAP_NAT6)
      sb_printf(s, "  type:%s port:%u target_port:%u", v->srv_type ? "nodeport" : "clusterip", bswap16(v->port),
                v->target_port);
    sb_printf(s, "  counters:\n");
    for (int k = 0; k < N_LBC; k++) sb_printf(s, "    %s: %llu\n", LBC_NAMES[k], (unsigned long long)lbc_sum(m, k, vi));
    sb_printf(s, "  #as:%u\n", n);
    for (u32 i = 0; i < n; i++) {
      as_t *a = &m->ases[g_as_idx[i]];
      char ab[INET6_ADDRSTRLEN];
      fmt_addr(a->af, a->addr, ab, sizeof ab);
      sb_printf(s, "    %s weight:%u buckets:%u flows:%u dpo:%u %s\n", ab, a->weight, a->used ? a->buckets : 0,
                a->flows, a->dpo, a->used ? "used" : " removed");
    }
    sb_printf(s, "\n");
  }
}

/* The input after its first n words (and the blanks after them). */
static const char *skip_words(const char *cmd, size_t len, int n) {
  const char *p = cmd, *end = cmd + len;
  while (p < end && isspace((unsigned char)*p)) p++;
  for (int i = 0; i < n; i++) {
    while (p < end && !isspace((unsigned char)*p)) p++;
    while (p < end && isspace((unsigned char)*p)) p++;
  }
  return p;
}

static bool kw(const char *tok, const char *word) {
  size_t l = strlen(tok);
  return l >= 2 && l <= strlen(word) && strncmp(tok, word, l) == 0;
}

/* Runs a CLI command into out; returns the cli_inband retval. As on VPP
 * (measured): command words may be abbreviated, "show lb vips" takes
 * exactly "verbose" and ignores anything else after it, and unknown input
 * answers -1 with VPP's text. */
static int cli_run(const char *cmd, size_t len, sb_t *out) {
  char buf[512];
  if (len >= sizeof buf) len = sizeof buf - 1;
  memcpy(buf, cmd, len);
  buf[len] = 0;
  char *tok[8];
  int nt = 0;
  char *save = NULL;
  for (char *t = strtok_r(buf, " \t\r\n", &save); t && nt < 8; t = strtok_r(NULL, " \t\r\n", &save)) tok[nt++] = t;
  if (nt >= 1 && kw(tok[0], "show")) {
    if (nt >= 2 && kw(tok[1], "version") && nt == 2) {
      sb_printf(out, "vpp v%s built by fakevpp on fakevpp at 2026-11-21T03:09:21\n", G.version);
      return RV_OK;
    }
    if (nt >= 2 && strcmp(tok[1], "lb") == 0) {
      if (nt >= 3 && kw(tok[2], "vips")) {
        cli_show_vips(out, nt >= 4 && strcmp(tok[3], "verbose") == 0);
        return RV_OK;
      }
      cli_show_lb(out);
      if (nt == 2) return RV_OK;
      const char *rest = skip_words(cmd, len, 2);
      sb_printf(out, "unknown input `%.*s'\n", (int)(cmd + len - rest), rest);
      return RV_UNSPECIFIED;
    }
    const char *rest = skip_words(cmd, len, 1);
    sb_printf(out, "show: unknown input `%.*s'\n", (int)(cmd + len - rest), rest);
    return RV_UNSPECIFIED;
  }
  sb_printf(out, "unknown input `%.*s'\n", (int)len, cmd);
  return RV_UNSPECIFIED;
}

static void h_cli(const u8 *req, int len) {
  u32 n = rd32(req + 10);
  if ((u64)n + 14 > (u64)len) { /* §1.11: retval -1, empty string */
    reply_rv(M_CLI_INBAND_REPLY, req, RV_UNSPECIFIED);
    return;
  }
  sb_t s = {0};
  int rv = cli_run((const char *)req + 14, n, &s);
  int rlen = 14 + (int)s.n;
  u8 *r = reply_new(M_CLI_INBAND_REPLY, rlen, req);
  wr32(r + 6, (u32)rv);
  wr32(r + 10, (u32)s.n);
  if (s.n) memcpy(r + 14, s.p, s.n);
  free(s.p);
  emit(r, rlen);
}

/* Answers a request for message `mi` with the model's retval or replies. */
static void handle(int mi, const u8 *req, int len) {
  int rv = RV_OK;
  switch (mi) {
  case M_CONTROL_PING:
    h_control_ping(req);
    return;
  case M_SHOW_VERSION:
    h_show_version(req);
    return;
  case M_CLI_INBAND:
    h_cli(req, len);
    return;
  case M_LB_CONF_GET:
    h_lb_conf_get(req);
    return;
  case M_LB_VIP_DUMP:
    h_vip_dump(req);
    return;
  case M_LB_AS_V2_DUMP:
    h_as_dump(req, true);
    return;
  case M_LB_AS_DUMP:
    h_as_dump(req, false);
    return;
  case M_IP_ROUTE_LOOKUP:
    h_route_lookup(req);
    return;
  case M_LB_CONF:
    rv = h_lb_conf(req);
    break;
  case M_LB_ADD_DEL_VIP_V2:
    rv = h_vip(req, true);
    break;
  case M_LB_ADD_DEL_VIP:
    rv = h_vip(req, false);
    break;
  case M_LB_ADD_DEL_AS_V2:
    rv = h_as(req, true);
    break;
  case M_LB_ADD_DEL_AS:
    rv = h_as(req, false);
    break;
  case M_LB_AS_SET_WEIGHT:
    rv = h_set_weight(req);
    break;
  case M_LB_FLUSH_VIP:
    rv = h_flush_vip(req);
    break;
  default:
    return;
  }
  if (rv == RV_CRASH) {
    if (!G.quiet) fprintf(stderr, "fakevpp: VPP aborted (SIGABRT) in lb_vip_update_new_flow_table\n");
    vpp_die(true, true);
    return;
  }
  reply_rv(MSGS[mi].reply, req, rv);
}

static fault_t *fault_match(int mi, bool slow) {
  for (int i = 0; i < G.n_faults; i++) {
    fault_t *f = &G.faults[i];
    if (f->count == 0 || (f->msg != -1 && f->msg != mi)) continue;
    if ((f->kind == F_SLOW) == slow) return f;
  }
  return NULL;
}

static void fault_use(fault_t *f) {
  if (f->count > 0) f->count--;
  if (f->count == 0) { /* compact */
    int i = (int)(f - G.faults);
    memmove(&G.faults[i], &G.faults[i + 1], (size_t)(G.n_faults - i - 1) * sizeof(fault_t));
    G.n_faults--;
  }
}

static void process_request(u8 *req, int len) {
  u16 id = rd16(req);
  int mi = (int)id - (int)G.vpp_id_base;
  G.requests++;
  if (mi < 0 || mi >= M_COUNT || MSGS[mi].kind != K_REQUEST) {
    G.unknown_ids++; /* no handler: dropped, no reply (§1.11) */
    return;
  }
  G.req_count[mi]++;
  G.recent[G.n_recent++ % RECENT_RING] = mi;
  u8 *full = req;
  u8 *padded = NULL;
  if (len < MSGS[mi].fixed) {
    misuse("%s request of %d bytes, its fixed size is %d (real VPP reads stale bytes; padded with zeros here)",
           MSGS[mi].name, len, MSGS[mi].fixed);
    padded = calloc(1, (size_t)MSGS[mi].fixed);
    if (!padded) abort();
    memcpy(padded, req, (size_t)len);
    full = padded;
    len = MSGS[mi].fixed;
  }
  u64 now = now_ns();
  u64 base = G.last_ready_ns > now ? G.last_ready_ns : now;
  i64 delay = G.delay_ms > 0 ? G.delay_ms : 0;
  fault_t *sf = fault_match(mi, true);
  if (sf) {
    delay += sf->value;
    fault_use(sf);
  }
  g_req_ready_ns = base + (u64)delay * 1000000ull;
  G.last_ready_ns = g_req_ready_ns;
  fault_t *f = fault_match(mi, false);
  if (f) {
    int kind = f->kind;
    int rv = (int)f->value;
    fault_use(f);
    if (kind == F_DROP) {
      G.dropped++;
    } else {
      G.failed++;
      int rm = MSGS[mi].reply;
      if (MSGS[rm].kind == K_REPLY) reply_rv(rm, full, rv); /* dumps: no details at all */
    }
  } else {
    handle(mi, full, len);
  }
  free(padded);
}

/* Processes the client's requests while VPP can: up, not hung, and the
 * client's rx queue not full (a full queue stalls VPP's main thread, §1.4). */
static void pump(void) {
  maybe_auto_gc();
  while (G.backlog.head && G.vpp_up && !G.hung) {
    if (G.rx.count >= (u32)G.rx_qlen) {
      if (!G.stalled) G.stalls++;
      G.stalled = true;
      break;
    }
    G.stalled = false;
    node_t *n = q_pop(&G.backlog);
    process_request(n->data, n->len);
    free(n->data);
    free(n);
  }
  if (!G.backlog.head) G.stalled = false;
  changed();
}

/* ------------------------------------------------------------------------ */
/* Initialisation                                                           */
/* ------------------------------------------------------------------------ */

static void env_str(const char *name, char *dst, size_t n, const char *def) {
  const char *v = getenv(name);
  snprintf(dst, n, "%s", v ? v : def);
}

static void knobs_defaults(void) {
  for (int i = 0; i < N_KNOBS; i++) {
    char env[64];
    snprintf(env, sizeof env, "FAKEVPP_");
    size_t o = strlen(env);
    for (const char *c = KNOBS[i].name; *c && o < sizeof env - 1; c++) env[o++] = (char)toupper((unsigned char)*c);
    env[o] = 0;
    const char *v = getenv(env);
    *KNOBS[i].ptr = v && *v ? strtoll(v, NULL, 0) : KNOBS[i].def;
  }
  env_str("FAKEVPP_VERSION", G.version, sizeof G.version, "26.10-rc0~374-gb575ec2c56d");
  env_str("FAKEVPP_API_PREFIX", G.api_prefix, sizeof G.api_prefix, "");
  env_str("FAKEVPP_STATS_SOCKET", G.stats_socket, sizeof G.stats_socket, "");
}

static int ctl_locked(const char *cmd, char *err, int errlen);
static void *poll_main(void *arg);

static void start_poller(void) {
  if (G.poll_running || (!G.ctl_path[0] && !G.state_path[0])) return;
  G.poll_stop = false;
  if (pthread_create(&G.poll_thread, NULL, poll_main, NULL) == 0) G.poll_running = true;
}

/* A process that loads the library again (a restarted daemon) continues
 * the control file where the previous process stopped: the offset is in the
 * state file the previous process wrote. */
static void resume_control_offset(void) {
  if (!G.ctl_path[0] || !G.state_path[0]) return;
  FILE *f = fopen(G.state_path, "r");
  if (!f) return;
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  const char *k = strstr(buf, "\"offset\":");
  if (k) G.ctl_off = (off_t)strtoll(k + 9, NULL, 10);
}

__attribute__((constructor)) static void fakevpp_init(void) {
  pthread_mutex_init(&G.mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&G.cv, &ca);
  pthread_condattr_destroy(&ca);
  knobs_defaults();
  G.rx_qlen = 32;
  if (!G.start_down) vpp_start();
  const char *init = getenv("FAKEVPP_INIT");
  if (init && *init) {
    char *copy = strdup(init);
    char *save = NULL;
    for (char *c = strtok_r(copy, ";\n", &save); c; c = strtok_r(NULL, ";\n", &save)) {
      char err[256];
      pthread_mutex_lock(&G.mu);
      int rv = ctl_locked(c, err, sizeof err);
      pthread_mutex_unlock(&G.mu);
      if (rv == FAKEVPP_CTL_EBADCMD) fprintf(stderr, "fakevpp: FAKEVPP_INIT \"%s\": %s\n", c, err);
    }
    free(copy);
  }
  env_str("FAKEVPP_CONTROL", G.ctl_path, sizeof G.ctl_path, "");
  env_str("FAKEVPP_STATE", G.state_path, sizeof G.state_path, "");
  resume_control_offset();
  start_poller();
}

static void stop_rx_thread_locked(void);

__attribute__((destructor)) static void fakevpp_fini(void) {
  pthread_mutex_lock(&G.mu);
  bool join = G.poll_running;
  G.poll_stop = true;
  pthread_cond_broadcast(&G.cv);
  stop_rx_thread_locked();
  pthread_mutex_unlock(&G.mu);
  if (join) pthread_join(G.poll_thread, NULL);
}

/* ------------------------------------------------------------------------ */
/* vac_* API (§1)                                                           */
/* ------------------------------------------------------------------------ */

void vac_mem_init(size_t size) {
  (void)size;
  pthread_mutex_lock(&G.mu);
  G.mem_inited = true;
  pthread_mutex_unlock(&G.mu);
}

static void *rx_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&G.mu);
  while (!G.rx_stop) {
    node_t *n = G.rx.head;
    u64 now = now_ns();
    if (G.rx_suspended || !n) {
      cv_wait_until(UINT64_MAX);
      continue;
    }
    if (n->ready_ns > now) {
      cv_wait_until(n->ready_ns);
      continue;
    }
    q_pop(&G.rx);
    void (*cb)(unsigned char *, int) = G.cb;
    pump();
    pthread_mutex_unlock(&G.mu);
    if (cb) cb(n->data, n->len);
    free(n->data);
    free(n);
    pthread_mutex_lock(&G.mu);
  }
  pthread_mutex_unlock(&G.mu);
  return NULL;
}

/* Stops the callback-mode receive thread (G.mu held; joins without it). */
static void stop_rx_thread_locked(void) {
  if (!G.rx_thread_running) return;
  G.rx_stop = true;
  G.rx_thread_running = false;
  pthread_cond_broadcast(&G.cv);
  if (pthread_equal(pthread_self(), G.rx_thread)) {
    pthread_detach(G.rx_thread);
    return;
  }
  pthread_mutex_unlock(&G.mu);
  pthread_join(G.rx_thread, NULL);
  pthread_mutex_lock(&G.mu);
}

static void do_connect(char *name, void (*cb)(unsigned char *, int), int rx_qlen) {
  G.connected = true;
  G.conn_gen = G.generation;
  G.conn_id_base = G.vpp_id_base;
  G.conn_client_index = (u32)G.client_index;
  snprintf(G.client_name, sizeof G.client_name, "%s", name ? name : "");
  G.rx_qlen = rx_qlen > 0 ? rx_qlen : 32;
  q_clear(&G.rx);
  q_clear(&G.backlog);
  G.last_ready_ns = 0;
  G.rx_high_water = 0;
  G.stalled = false;
  G.cb = cb;
  G.rx_suspended = false;
  if (cb) {
    G.rx_stop = false;
    if (pthread_create(&G.rx_thread, NULL, rx_main, NULL) == 0) G.rx_thread_running = true;
  }
  changed();
}

int vac_connect(char *name, char *chroot_prefix, void (*cb)(unsigned char *data, int len), int rx_qlen) {
  pthread_mutex_lock(&G.mu);
  if (!G.mem_inited) {
    misuse("vac_connect before vac_mem_init (the real library aborts with SIGABRT)");
    pthread_mutex_unlock(&G.mu);
    return -1;
  }
  if (G.connected || G.connecting) {
    misuse("vac_connect while already connected (the real library prints \"already connected\" and SIGSEGVs)");
    pthread_mutex_unlock(&G.mu);
    return -1;
  }
  if (G.connect_fail_count != 0) {
    if (G.connect_fail_count > 0) G.connect_fail_count--;
    int rv = (int)G.connect_fail_rv;
    changed();
    pthread_mutex_unlock(&G.mu);
    return rv;
  }
  G.connecting = true;
  int rv;
  bool prefix_ok = strcmp(chroot_prefix ? chroot_prefix : "", G.api_prefix) == 0;
  if (!prefix_ok) {
    /* no /dev/shm/<prefix>-vpe-api ever appears: -2 after ~101 s */
    sleep_locked_ms(101 * (u64)(G.timeout_scale_ms < 0 ? 0 : G.timeout_scale_ms));
    rv = -2;
  } else if (G.vpp_up && !G.hung) {
    if (G.connect_delay_ms > 0) sleep_locked_ms((u64)G.connect_delay_ms);
    if (G.vpp_up && !G.hung) {
      do_connect(name, cb, rx_qlen);
      rv = 0;
    } else {
      rv = -1;
    }
  } else if (G.hung || G.shm_files) {
    /* stale segment (or a VPP that does not answer): -1 after 10 s */
    sleep_locked_ms(10 * (u64)(G.timeout_scale_ms < 0 ? 0 : G.timeout_scale_ms));
    rv = -1;
  } else {
    /* no segment files: poll for VPP for ~101 s, then -2 */
    u64 deadline = now_ns() + scale_units_ns(101);
    rv = -2;
    while (now_ns() < deadline) {
      if (G.vpp_up && !G.hung) {
        do_connect(name, cb, rx_qlen);
        rv = 0;
        break;
      }
      cv_wait_until(deadline);
    }
  }
  G.connecting = false;
  changed();
  pthread_mutex_unlock(&G.mu);
  return rv;
}

int vac_disconnect(void) {
  pthread_mutex_lock(&G.mu);
  if (!G.connected) {
    pthread_mutex_unlock(&G.mu);
    return 0;
  }
  bool dead = !conn_alive();
  G.connected = false;
  stop_rx_thread_locked();
  q_clear(&G.rx);
  q_clear(&G.backlog);
  G.stalled = false;
  changed(); /* wakes blocked readers: they return -3 */
  if (dead) sleep_locked_ms((u64)(G.timeout_scale_ms < 0 ? 0 : G.timeout_scale_ms)); /* "peer unresponsive" */
  pthread_mutex_unlock(&G.mu);
  return 0;
}

int vac_get_msg_index(char *name) {
  if (!name) return -1;
  pthread_mutex_lock(&G.mu);
  int rv = -1;
  if (G.connected) {
    for (int i = 0; i < M_COUNT; i++) {
      char key[96];
      snprintf(key, sizeof key, "%s_%08x", MSGS[i].name, MSGS[i].crc);
      if (strcmp(key, name) == 0) {
        rv = (int)G.conn_id_base + i;
        break;
      }
    }
  }
  pthread_mutex_unlock(&G.mu);
  return rv;
}

int vac_msg_table_size(void) {
  pthread_mutex_lock(&G.mu);
  int rv = G.connected ? M_COUNT : 0;
  pthread_mutex_unlock(&G.mu);
  return rv;
}

int vac_msg_table_max_index(void) {
  pthread_mutex_lock(&G.mu);
  int rv = G.connected ? (int)G.conn_id_base + M_COUNT - 1 : 0;
  pthread_mutex_unlock(&G.mu);
  return rv;
}

int vac_write(char *p, int l) {
  pthread_mutex_lock(&G.mu);
  if (!G.connected) {
    misuse("vac_write while not connected (the real library SIGSEGVs)");
    pthread_mutex_unlock(&G.mu);
    return VAC_NOT_CONNECTED;
  }
  if (!p || l < 10) {
    misuse("vac_write of %d bytes (a request is never shorter than its 10-byte header)", l);
    if (!p || l < 2) {
      pthread_mutex_unlock(&G.mu);
      return 0;
    }
  }
  if (!conn_alive()) {
    G.lost_writes++; /* into the dead VPP's queue (§1.6) */
    changed();
    pthread_mutex_unlock(&G.mu);
    return 0;
  }
  u8 *copy = malloc((size_t)(l < 10 ? 10 : l));
  if (!copy) abort();
  memset(copy, 0, 10);
  memcpy(copy, p, (size_t)l);
  memcpy(copy + 2, &G.conn_client_index, 4); /* host order (§1.8) */
  q_push(&G.backlog, copy, l < 10 ? 10 : l, 0);
  pump();
  pthread_mutex_unlock(&G.mu);
  return 0;
}

int vac_read(char **p, int *l, unsigned short timeout) {
  pthread_mutex_lock(&G.mu);
  if (!G.connected) {
    pthread_mutex_unlock(&G.mu);
    return VAC_NOT_CONNECTED;
  }
  u64 gen = G.conn_gen;
  u64 deadline = timeout ? now_ns() + scale_units_ns(timeout) : UINT64_MAX;
  for (;;) {
    if (!G.connected || G.conn_gen != gen) { /* disconnected meanwhile */
      pthread_mutex_unlock(&G.mu);
      return VAC_NOT_CONNECTED;
    }
    u64 now = now_ns();
    node_t *n = G.rx.head;
    if (n && n->ready_ns <= now) {
      q_pop(&G.rx);
      if (G.n_outstanding == G.cap_outstanding) {
        G.cap_outstanding = G.cap_outstanding ? G.cap_outstanding * 2 : 64;
        G.outstanding = realloc(G.outstanding, G.cap_outstanding * sizeof(void *));
        if (!G.outstanding) abort();
      }
      G.outstanding[G.n_outstanding++] = n->data;
      if (p) *p = (char *)n->data;
      if (l) *l = n->len;
      free(n);
      pump();
      pthread_mutex_unlock(&G.mu);
      return 0;
    }
    if (now >= deadline) {
      if (l) *l = 0;
      pthread_mutex_unlock(&G.mu);
      return VAC_TIMEOUT;
    }
    u64 wake = deadline;
    if (n && n->ready_ns < wake) wake = n->ready_ns;
    cv_wait_until(wake);
  }
}

void vac_free(void *msg) {
  pthread_mutex_lock(&G.mu);
  for (u32 i = 0; i < G.n_outstanding; i++) {
    if (G.outstanding[i] == msg) {
      G.outstanding[i] = G.outstanding[--G.n_outstanding];
      free(msg);
      changed();
      pthread_mutex_unlock(&G.mu);
      return;
    }
  }
  misuse("vac_free(%p): not a buffer from vac_read, or already freed", msg);
  pthread_mutex_unlock(&G.mu);
}

void vac_rx_suspend(void) {
  pthread_mutex_lock(&G.mu);
  G.rx_suspended = true;
  pthread_mutex_unlock(&G.mu);
}

void vac_rx_resume(void) {
  pthread_mutex_lock(&G.mu);
  G.rx_suspended = false;
  pthread_cond_broadcast(&G.cv);
  pthread_mutex_unlock(&G.mu);
}

void vac_set_error_handler(void (*h)(void *, unsigned char *, int)) {
  pthread_mutex_lock(&G.mu);
  G.error_handler = h; /* stored, never called */
  pthread_mutex_unlock(&G.mu);
}

/* ------------------------------------------------------------------------ */
/* Stats segment (§6)                                                       */
/* ------------------------------------------------------------------------ */

typedef enum {
  STAT_DIR_TYPE_ILLEGAL = 0,
  STAT_DIR_TYPE_SCALAR_INDEX = 1,
  STAT_DIR_TYPE_COUNTER_VECTOR_SIMPLE = 2,
  STAT_DIR_TYPE_COUNTER_VECTOR_COMBINED = 3,
  STAT_DIR_TYPE_NAME_VECTOR = 4,
  STAT_DIR_TYPE_EMPTY = 5,
  STAT_DIR_TYPE_SYMLINK = 6,
  STAT_DIR_TYPE_HISTOGRAM_LOG2 = 7,
  STAT_DIR_TYPE_RING_BUFFER = 8,
  STAT_DIR_TYPE_GAUGE = 9,
} stat_directory_type_t;

typedef uint64_t counter_t;
typedef struct {
  counter_t packets;
  counter_t bytes;
} vlib_counter_t;

typedef struct {
  char *name;
  stat_directory_type_t type;
  bool via_symlink;
  union {
    double scalar_value;
    counter_t *error_vector;
    counter_t **simple_counter_vec;
    vlib_counter_t **combined_counter_vec;
    uint8_t **name_vector;
    uint64_t **log2_histogram_bins;
  };
} stat_segment_data_t;

_Static_assert(sizeof(stat_segment_data_t) == 24, "stat_segment_data_t is 24 bytes");
_Static_assert(offsetof(stat_segment_data_t, type) == 8, "type at 8");
_Static_assert(offsetof(stat_segment_data_t, via_symlink) == 12, "via_symlink at 12");
_Static_assert(offsetof(stat_segment_data_t, scalar_value) == 16, "union at 16");
_Static_assert(sizeof(vlib_counter_t) == 16, "vlib_counter_t is 16 bytes");

/* vppinfra-compatible vectors: u32 length 8 bytes before element 0. */
typedef struct {
  u32 len;
  u32 cap;
} vhdr_t;
_Static_assert(sizeof(vhdr_t) == 8, "vector header is 8 bytes");

static void *vec_alloc(size_t elt, u32 n) {
  vhdr_t *h = calloc(1, sizeof(vhdr_t) + elt * (n ? n : 1));
  if (!h) abort();
  h->len = n;
  h->cap = n ? n : 1;
  return h + 1;
}

static void *vec_add1(void *v, size_t elt, const void *item) {
  vhdr_t *h = v ? (vhdr_t *)v - 1 : NULL;
  u32 len = h ? h->len : 0;
  u32 cap = h ? h->cap : 0;
  if (len + 1 > cap) {
    cap = cap ? cap * 2 : 4;
    h = realloc(h, sizeof(vhdr_t) + elt * cap);
    if (!h) abort();
    h->cap = cap;
  }
  memcpy((u8 *)(h + 1) + elt * len, item, elt);
  h->len = len + 1;
  return h + 1;
}

int stat_segment_vec_len(void *v) { return v ? (int)((vhdr_t *)v - 1)->len : 0; }

void stat_segment_vec_free(void *v) {
  if (v) free((vhdr_t *)v - 1);
}

/* The stats directory: fixed entries, then the lb counters once a VIP was
 * added to this VPP instance (§6.4). Decoys make unanchored patterns match
 * more than intended, as on a real VPP (§6.3). */
enum {
  D_BOOTTIME,
  D_HEARTBEAT,
  D_NUM_WORKERS,
  D_ROUTE_TO,
  D_ROUTE_VIA,
  D_ERR_SESSION_TX,
  D_NODE_SESSION_CALLS,
  D_LB0,
  D_MAX = D_LB0 + N_LBC
};
static const char *const DIR_NAMES[D_MAX] = {
    "/sys/boottime",
    "/sys/heartbeat",
    "/sys/num_worker_threads",
    "/net/route/to",
    "/net/route/via",
    "/err/session-queue/tx",
    "/nodes/session-queue/calls",
    "packet from existing sessions",
    "first session packet",
    "untracked packet",
    "no server configured",
};

static u32 dir_count(const model_t *m) { return m->lb_counters_present ? D_MAX : D_LB0; }

/* The model the stats client's mapping shows: the live one, or the frozen
 * snapshot of the instance it mapped if that VPP is gone (§7). */
static model_t *stat_model(void) {
  if (G.vpp_up && G.stat_gen == G.generation) return &G.live;
  if (G.frozen_valid) return &G.frozen;
  return &G.live;
}

static bool stats_guard(const char *fn) {
  if (!G.mem_inited) misuse("%s before vac_mem_init (the real library SIGSEGVs)", fn);
  if (!G.stat_connected) {
    misuse("%s while the stats segment is not connected", fn);
    return false;
  }
  return true;
}

int stat_segment_connect(const char *socket_name) {
  pthread_mutex_lock(&G.mu);
  int rv = 0;
  if (!G.mem_inited)
    misuse("stat_segment_connect before vac_mem_init (the next stats call SIGSEGVs in the real library)");
  if (G.stats_connect_fail_count != 0) {
    if (G.stats_connect_fail_count > 0) G.stats_connect_fail_count--;
    rv = (int)G.stats_connect_fail_rv;
  } else if (!G.vpp_up || (G.stats_socket[0] && (!socket_name || strcmp(socket_name, G.stats_socket) != 0))) {
    rv = -2; /* connect() failed */
  } else {
    G.stat_connected = true;
    G.stat_gen = G.generation;
    G.stat_ls_done = false;
  }
  changed();
  pthread_mutex_unlock(&G.mu);
  return rv;
}

void stat_segment_disconnect(void) {
  pthread_mutex_lock(&G.mu);
  G.stat_connected = false;
  G.stat_ls_done = false;
  changed();
  pthread_mutex_unlock(&G.mu);
}

uint8_t **stat_segment_string_vector(uint8_t **string_vector, const char *string) {
  pthread_mutex_lock(&G.mu);
  if (!G.mem_inited) misuse("stat_segment_string_vector before vac_mem_init (the real library SIGSEGVs)");
  pthread_mutex_unlock(&G.mu);
  if (!string) string = "";
  size_t n = strlen(string);
  u8 *name = vec_alloc(1, (u32)n + 1); /* NUL-terminated, like vec_validate_init_c_string */
  memcpy(name, string, n);
  name[n] = 0;
  return vec_add1(string_vector, sizeof(u8 *), &name);
}

uint32_t *stat_segment_ls(uint8_t **patterns) {
  pthread_mutex_lock(&G.mu);
  if (!stats_guard("stat_segment_ls")) {
    pthread_mutex_unlock(&G.mu);
    return NULL;
  }
  int np = stat_segment_vec_len(patterns);
  regex_t *re = calloc((size_t)(np ? np : 1), sizeof(regex_t));
  if (!re) abort();
  for (int i = 0; i < np; i++) {
    if (regcomp(&re[i], (const char *)patterns[i], REG_NOSUB) != 0) { /* POSIX basic */
      for (int j = 0; j < i; j++) regfree(&re[j]);
      free(re);
      pthread_mutex_unlock(&G.mu);
      return NULL;
    }
  }
  model_t *m = stat_model();
  u32 *out = NULL;
  for (u32 d = 0; d < dir_count(m); d++) {
    bool match = np == 0;
    for (int i = 0; i < np && !match; i++) match = regexec(&re[i], DIR_NAMES[d], 0, NULL, 0) == 0;
    if (match) out = vec_add1(out, sizeof(u32), &d);
  }
  for (int i = 0; i < np; i++) regfree(&re[i]);
  free(re);
  G.stat_ls_done = true;
  G.stat_ls_epoch = m->stats_epoch;
  pthread_mutex_unlock(&G.mu);
  return out;
}

static bool stat_epoch_ok(model_t *m) { return G.stat_ls_done && G.stat_ls_epoch == m->stats_epoch; }

static counter_t **simple_vec(model_t *m, int k) {
  i64 nt = threads_n();
  counter_t **outer = vec_alloc(sizeof(counter_t *), (u32)nt);
  for (i64 t = 0; t < nt; t++) {
    u32 len = k < 0 ? 1 : m->lb_vec_len;
    counter_t *inner = vec_alloc(sizeof(counter_t), len);
    if (k >= 0)
      for (u32 i = 0; i < len; i++) inner[i] = m->lbc[k][t][i];
    outer[t] = inner;
  }
  return outer;
}

static vlib_counter_t **combined_vec(model_t *m, bool real) {
  i64 nt = threads_n();
  vlib_counter_t **outer = vec_alloc(sizeof(vlib_counter_t *), (u32)nt);
  for (i64 t = 0; t < nt; t++) {
    vlib_counter_t *inner = vec_alloc(sizeof(vlib_counter_t), m->lb_next);
    if (real)
      for (u32 i = 0; i < m->lb_next; i++) {
        inner[i].packets = m->rt_packets[t][i];
        inner[i].bytes = m->rt_bytes[t][i];
      }
    outer[t] = inner;
  }
  return outer;
}

static void fill_entry(model_t *m, u32 d, stat_segment_data_t *e) {
  memset(e, 0, sizeof *e);
  if (d >= dir_count(m)) {
    misuse("stats directory index %u does not exist", d);
    e->name = strdup("");
    e->type = STAT_DIR_TYPE_ILLEGAL;
    return;
  }
  e->name = strdup(DIR_NAMES[d]);
  switch (d) {
  case D_BOOTTIME:
    e->type = STAT_DIR_TYPE_SCALAR_INDEX;
    e->scalar_value = m->boottime;
    break;
  case D_HEARTBEAT:
    e->type = STAT_DIR_TYPE_SCALAR_INDEX;
    e->scalar_value = hb_value(m);
    break;
  case D_NUM_WORKERS:
    e->type = STAT_DIR_TYPE_SCALAR_INDEX;
    e->scalar_value = (double)(threads_n() - 1);
    break;
  case D_ROUTE_TO:
  case D_ROUTE_VIA:
    e->type = STAT_DIR_TYPE_COUNTER_VECTOR_COMBINED;
    e->combined_counter_vec = combined_vec(m, d == D_ROUTE_TO);
    break;
  case D_ERR_SESSION_TX:
  case D_NODE_SESSION_CALLS:
    e->type = STAT_DIR_TYPE_COUNTER_VECTOR_SIMPLE;
    e->simple_counter_vec = simple_vec(m, -1);
    break;
  default:
    e->type = STAT_DIR_TYPE_COUNTER_VECTOR_SIMPLE;
    e->simple_counter_vec = simple_vec(m, (int)(d - D_LB0));
    break;
  }
}

stat_segment_data_t *stat_segment_dump(uint32_t *stats) {
  pthread_mutex_lock(&G.mu);
  if (!stats_guard("stat_segment_dump")) {
    pthread_mutex_unlock(&G.mu);
    return NULL;
  }
  model_t *m = stat_model();
  if (!stat_epoch_ok(m)) { /* directory changed since the last ls (§6.3) */
    pthread_mutex_unlock(&G.mu);
    return NULL;
  }
  stat_segment_data_t *res = NULL;
  for (int i = 0; i < stat_segment_vec_len(stats); i++) {
    stat_segment_data_t e;
    fill_entry(m, stats[i], &e);
    res = vec_add1(res, sizeof e, &e);
  }
  pthread_mutex_unlock(&G.mu);
  return res;
}

stat_segment_data_t *stat_segment_dump_entry(uint32_t index) {
  pthread_mutex_lock(&G.mu);
  if (!stats_guard("stat_segment_dump_entry")) {
    pthread_mutex_unlock(&G.mu);
    return NULL;
  }
  model_t *m = stat_model();
  if (!stat_epoch_ok(m)) {
    pthread_mutex_unlock(&G.mu);
    return NULL;
  }
  stat_segment_data_t e;
  fill_entry(m, index, &e);
  stat_segment_data_t *res = vec_add1(NULL, sizeof e, &e);
  pthread_mutex_unlock(&G.mu);
  return res;
}

char *stat_segment_index_to_name(uint32_t index) {
  pthread_mutex_lock(&G.mu);
  char *rv = NULL;
  if (stats_guard("stat_segment_index_to_name")) {
    model_t *m = stat_model();
    if (stat_epoch_ok(m) && index < dir_count(m)) rv = strdup(DIR_NAMES[index]);
  }
  pthread_mutex_unlock(&G.mu);
  return rv;
}

void stat_segment_data_free(stat_segment_data_t *res) {
  for (int i = 0; i < stat_segment_vec_len(res); i++) {
    stat_segment_data_t *e = &res[i];
    switch (e->type) {
    case STAT_DIR_TYPE_COUNTER_VECTOR_SIMPLE:
      for (int t = 0; t < stat_segment_vec_len(e->simple_counter_vec); t++)
        stat_segment_vec_free(e->simple_counter_vec[t]);
      stat_segment_vec_free(e->simple_counter_vec);
      break;
    case STAT_DIR_TYPE_COUNTER_VECTOR_COMBINED:
      for (int t = 0; t < stat_segment_vec_len(e->combined_counter_vec); t++)
        stat_segment_vec_free(e->combined_counter_vec[t]);
      stat_segment_vec_free(e->combined_counter_vec);
      break;
    case STAT_DIR_TYPE_NAME_VECTOR:
      for (int t = 0; t < stat_segment_vec_len(e->name_vector); t++) stat_segment_vec_free(e->name_vector[t]);
      stat_segment_vec_free(e->name_vector);
      break;
    default:
      break;
    }
    free(e->name);
  }
  stat_segment_vec_free(res);
}

double stat_segment_heartbeat(void) {
  pthread_mutex_lock(&G.mu);
  double rv = 0;
  if (G.stat_connected) {
    model_t *m = stat_model();
    if (stat_epoch_ok(m)) rv = hb_value(m); /* 0 before the first ls / after an epoch change */
  }
  pthread_mutex_unlock(&G.mu);
  return rv;
}

uint64_t stat_segment_version(void) { return 2; }

/* ------------------------------------------------------------------------ */
/* Control commands                                                         */
/* ------------------------------------------------------------------------ */

typedef struct {
  char *pos[16];
  int npos;
  char *key[16];
  char *val[16];
  int nkv;
} args_t;

static void args_parse(char *line, args_t *a) {
  memset(a, 0, sizeof *a);
  char *save = NULL;
  for (char *t = strtok_r(line, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
    char *eq = strchr(t, '=');
    if (eq && a->npos > 0) {
      if (a->nkv < 16) {
        *eq = 0;
        a->key[a->nkv] = t;
        a->val[a->nkv++] = eq + 1;
      }
    } else if (a->npos < 16) {
      a->pos[a->npos++] = t;
    }
  }
}

static const char *arg_kv(args_t *a, const char *k) {
  for (int i = 0; i < a->nkv; i++)
    if (strcmp(a->key[i], k) == 0) return a->val[i];
  return NULL;
}

static bool parse_i64(const char *s, i64 *out) {
  if (!s || !*s) return false;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 0);
  if (*end || errno) return false;
  *out = v;
  return true;
}

static bool kv_i64(args_t *a, const char *k, i64 def, i64 *out) {
  const char *v = arg_kv(a, k);
  if (!v) {
    *out = def;
    return true;
  }
  return parse_i64(v, out);
}

static bool parse_addr(const char *s, u8 *af, u8 *addr) {
  memset(addr, 0, 16);
  if (inet_pton(AF_INET, s, addr) == 1) {
    *af = 0;
    return true;
  }
  if (inet_pton(AF_INET6, s, addr) == 1) {
    *af = 1;
    return true;
  }
  return false;
}

static bool parse_pfx(const char *s, pfx_t *p) {
  char buf[80];
  snprintf(buf, sizeof buf, "%s", s);
  char *slash = strchr(buf, '/');
  memset(p, 0, sizeof *p);
  if (slash) *slash = 0;
  if (!parse_addr(buf, &p->af, p->a)) return false;
  i64 len = af_bits(p->af);
  if (slash && !parse_i64(slash + 1, &len)) return false;
  if (len < 0 || len > af_bits(p->af)) return false;
  p->len = (u8)len;
  return true;
}

static bool parse_proto(const char *s, u8 *out) {
  if (!strcmp(s, "tcp")) *out = 6;
  else if (!strcmp(s, "udp")) *out = 17;
  else if (!strcmp(s, "any")) *out = 255;
  else {
    i64 v;
    if (!parse_i64(s, &v) || v < 0 || v > 255) return false;
    *out = (u8)v;
  }
  return true;
}

static bool parse_encap(const char *s, u32 *out) {
  for (u32 i = 0; i < ENCAP_N; i++)
    if (!strcmp(s, encap_name(i))) {
      *out = i;
      return true;
    }
  return false;
}

static int msg_by_name(const char *s) {
  if (!strcmp(s, "*")) return -1;
  for (int i = 0; i < M_COUNT; i++)
    if (MSGS[i].kind == K_REQUEST && !strcmp(MSGS[i].name, s)) return i;
  return -2;
}

#define BAD(...)                                                                                                       \
  do {                                                                                                                 \
    if (err && errlen > 0) snprintf(err, (size_t)errlen, __VA_ARGS__);                                                 \
    return FAKEVPP_CTL_EBADCMD;                                                                                        \
  } while (0)

static int set_knob(const char *key, i64 value) {
  for (int i = 0; i < N_KNOBS; i++)
    if (!strcmp(KNOBS[i].name, key)) {
      *KNOBS[i].ptr = value;
      changed();
      return 0;
    }
  return -1;
}

static void clear_faults(void) {
  G.n_faults = 0;
  G.connect_fail_count = 0;
  G.stats_connect_fail_count = 0;
}

static void reset_locked(void) {
  knobs_defaults();
  clear_faults();
  for (int i = 0; i < MISUSE_RING; i++) {
    free(G.misuse[i]);
    G.misuse[i] = NULL;
  }
  G.n_misuse = 0;
  G.requests = G.unknown_ids = G.lost_writes = G.dropped = G.failed = G.stalls = G.crashes = 0;
  memset(G.req_count, 0, sizeof G.req_count);
  G.n_recent = 0;
  if (G.vpp_up) vpp_die(false, false);
  G.frozen_valid = false;
  vpp_start();
}

/* Parses "<vip prefix> <proto> <port>" starting at pos[i]. */
static bool parse_vipkey(args_t *a, int i, pfx_t *p, u8 *proto, u16 *port) {
  i64 po;
  if (a->npos < i + 3 || !parse_pfx(a->pos[i], p) || !parse_proto(a->pos[i + 1], proto) ||
      !parse_i64(a->pos[i + 2], &po) || po < 0 || po > 65535)
    return false;
  *port = (u16)po;
  return true;
}

static int ctl_locked(const char *cmdline, char *err, int errlen) {
  char line[1024];
  snprintf(line, sizeof line, "%s", cmdline ? cmdline : "");
  if (err && errlen > 0) err[0] = 0;
  args_t a;
  args_parse(line, &a);
  if (a.npos == 0) BAD("empty command");
  const char *c = a.pos[0];
  int rv = 0;
  model_t *m = &G.live;
  bool needs_vpp = !strcmp(c, "vip_add") || !strcmp(c, "vip_del") || !strcmp(c, "as_add") || !strcmp(c, "as_del") ||
                   !strcmp(c, "as_weight") || !strcmp(c, "drift") || !strcmp(c, "gc") || !strcmp(c, "traffic") ||
                   !strcmp(c, "route_traffic") || !strcmp(c, "epoch") || !strcmp(c, "conf");
  if (needs_vpp && !G.vpp_up) BAD("%s: VPP is down", c);

  if (!strcmp(c, "up") || !strcmp(c, "start")) {
    if (!G.vpp_up) vpp_start();
  } else if (!strcmp(c, "down") || !strcmp(c, "stop") || !strcmp(c, "kill") || !strcmp(c, "crash")) {
    bool clean = a.npos > 1 && !strcmp(a.pos[1], "clean");
    bool crash = !strcmp(c, "crash") || !strcmp(c, "kill");
    /* a stop leaves /dev/shm behind when a client is attached (§7) */
    vpp_die(crash || (!clean && G.connected), crash);
  } else if (!strcmp(c, "restart")) {
    vpp_die(G.connected, false);
    vpp_start();
  } else if (!strcmp(c, "hang")) {
    if (!G.vpp_up) BAD("hang: VPP is down");
    G.hung = true;
    hb_freeze(&G.live);
  } else if (!strcmp(c, "unhang")) {
    if (G.hung) {
      G.hung = false;
      hb_resume(&G.live);
      pump();
    }
  } else if (!strcmp(c, "reset")) {
    reset_locked();
  } else if (!strcmp(c, "set")) {
    i64 v;
    if (a.npos != 3 || !parse_i64(a.pos[2], &v)) BAD("usage: set <knob> <integer>");
    if (set_knob(a.pos[1], v) != 0) BAD("unknown knob %s", a.pos[1]);
  } else if (!strcmp(c, "version")) {
    if (a.npos != 2) BAD("usage: version <string>");
    snprintf(G.version, sizeof G.version, "%s", a.pos[1]);
  } else if (!strcmp(c, "api_prefix") || !strcmp(c, "stats_socket")) {
    if (a.npos != 2) BAD("usage: %s <string|->", c);
    char *dst = !strcmp(c, "api_prefix") ? G.api_prefix : G.stats_socket;
    snprintf(dst, STR_KNOB, "%s", strcmp(a.pos[1], "-") ? a.pos[1] : "");
  } else if (!strcmp(c, "fail") || !strcmp(c, "drop") || !strcmp(c, "slow")) {
    int kind = !strcmp(c, "fail") ? F_FAIL : !strcmp(c, "drop") ? F_DROP : F_SLOW;
    int need = kind == F_DROP ? 2 : 3;
    if (a.npos < need || a.npos > need + 1) BAD("usage: %s <message|*>%s [count|forever]", c,
                                                kind == F_FAIL ? " <retval>" : kind == F_SLOW ? " <ms>" : "");
    int mi = msg_by_name(a.pos[1]);
    if (mi == -2) BAD("%s: unknown request message %s", c, a.pos[1]);
    i64 value = 0, count = 1;
    if (kind != F_DROP && !parse_i64(a.pos[2], &value)) BAD("%s: bad number %s", c, a.pos[2]);
    if (a.npos == need + 1) {
      if (!strcmp(a.pos[need], "forever"))
        count = -1;
      else if (!parse_i64(a.pos[need], &count) || count < 1)
        BAD("%s: bad count %s", c, a.pos[need]);
    }
    if (G.n_faults >= MAX_FAULTS) BAD("too many faults");
    G.faults[G.n_faults++] = (fault_t){.msg = mi, .kind = kind, .value = value, .count = count};
  } else if (!strcmp(c, "clear_faults")) {
    clear_faults();
  } else if (!strcmp(c, "connect_fail") || !strcmp(c, "stats_connect_fail")) {
    i64 v, count = 1;
    if (a.npos < 2 || a.npos > 3 || !parse_i64(a.pos[1], &v)) BAD("usage: %s <rv> [count|forever]", c);
    if (a.npos == 3) {
      if (!strcmp(a.pos[2], "forever"))
        count = -1;
      else if (!parse_i64(a.pos[2], &count) || count < 0)
        BAD("%s: bad count", c);
    }
    if (!strcmp(c, "connect_fail")) {
      G.connect_fail_rv = v;
      G.connect_fail_count = count;
    } else {
      G.stats_connect_fail_rv = v;
      G.stats_connect_fail_count = count;
    }
  } else if (!strcmp(c, "gc")) {
    lb_gc(m, 0);
  } else if (!strcmp(c, "epoch")) {
    m->stats_epoch++;
  } else if (!strcmp(c, "conf")) {
    i64 sticky, timeout;
    /* Positional values were once silently ignored, leaving the defaults. */
    if (a.npos > 1) BAD("conf: unexpected \"%s\": use ip4=A ip6=A buckets=N timeout=N", a.pos[1]);
    if (!kv_i64(&a, "buckets", m->sticky_buckets, &sticky) || !kv_i64(&a, "timeout", m->flow_timeout, &timeout))
      BAD("conf: bad number");
    const char *ip4 = arg_kv(&a, "ip4"), *ip6 = arg_kv(&a, "ip6");
    u8 af, tmp[16];
    if (ip4 && (!parse_addr(ip4, &af, tmp) || af != 0)) BAD("conf: bad ip4 %s", ip4);
    if (ip4) memcpy(m->ip4_src, tmp, 4);
    if (ip6 && (!parse_addr(ip6, &af, tmp) || af != 1)) BAD("conf: bad ip6 %s", ip6);
    if (ip6) memcpy(m->ip6_src, tmp, 16);
    m->sticky_buckets = (u32)sticky;
    m->flow_timeout = (u32)timeout;
  } else if (!strcmp(c, "vip_add")) {
    vip_args_t va;
    memset(&va, 0, sizeof va);
    if (!parse_vipkey(&a, 1, &va.pfx, &va.proto, &va.port))
      BAD("usage: vip_add <prefix> <proto> <port> [encap=gre4|gre6|l3dsr|nat4|nat6] [len=1024] [sticky=0] [dscp=0]");
    const char *e = arg_kv(&a, "encap");
    i64 len, sticky, dscp;
    if (e && !parse_encap(e, &va.encap)) BAD("vip_add: bad encap %s", e);
    if (!e) va.encap = va.pfx.af == 0 ? ENCAP_GRE4 : ENCAP_GRE6;
    if (!kv_i64(&a, "len", 1024, &len) || !kv_i64(&a, "sticky", 0, &sticky) || !kv_i64(&a, "dscp", 0, &dscp))
      BAD("vip_add: bad number");
    va.new_len = (u32)len;
    va.sticky = sticky != 0;
    va.dscp = (u8)dscp;
    rv = lb_vip_add(m, &va, NULL);
    if (rv == RV_CRASH) {
      vpp_die(true, true);
      rv = 0;
    }
  } else if (!strcmp(c, "vip_del")) {
    pfx_t p;
    u8 proto;
    u16 port;
    if (!parse_vipkey(&a, 1, &p, &proto, &port)) BAD("usage: vip_del <prefix> <proto> <port>");
    rv = lb_vip_del(m, p, proto, port);
  } else if (!strcmp(c, "as_add") || !strcmp(c, "as_del") || !strcmp(c, "as_weight") || !strcmp(c, "drift")) {
    pfx_t p;
    u8 proto, af, addr[16];
    u16 port;
    bool del = !strcmp(c, "as_del");
    bool add = !strcmp(c, "as_add");
    i64 w = 100;
    if (!parse_vipkey(&a, 1, &p, &proto, &port) || a.npos < 5 || !parse_addr(a.pos[4], &af, addr))
      BAD("usage: %s <vip prefix> <proto> <port> <as address>%s", c, del ? "" : add ? " [weight]" : " <weight>");
    if (!del && a.npos >= 6 && !parse_i64(a.pos[5], &w)) BAD("%s: bad weight", c);
    if (!del && !add && a.npos < 6) BAD("%s: weight missing", c);
    if (w < 0 || w > 255) BAD("%s: weight is a u8", c);
    if (del)
      rv = lb_as_del(m, p, proto, port, af, addr);
    else if (add)
      rv = lb_as_add(m, p, proto, port, af, addr, (u8)w);
    else
      rv = lb_as_set_weight(m, p, proto, port, af, addr, (u8)w);
  } else if (!strcmp(c, "traffic")) {
    i64 vi, packets, flows, bytes, thread, untracked;
    if (a.npos != 3 || !parse_i64(a.pos[1], &vi) || !parse_i64(a.pos[2], &packets) || vi < 0 || packets < 0)
      BAD("usage: traffic <vip index> <packets> [flows=1] [bytes=100] [thread=0] [untracked=0]");
    if (!kv_i64(&a, "flows", packets > 0 ? 1 : 0, &flows) || !kv_i64(&a, "bytes", 100, &bytes) ||
        !kv_i64(&a, "thread", 0, &thread) || !kv_i64(&a, "untracked", 0, &untracked) || flows < 0 || bytes < 0 ||
        thread < 0 || untracked < 0)
      BAD("traffic: bad number");
    rv = model_traffic(m, (u32)vi, (u64)packets, (u64)flows, (u64)bytes, (u32)thread, (u64)untracked);
  } else if (!strcmp(c, "route_traffic")) {
    i64 li, packets, bytes, thread;
    if (a.npos != 3 || !parse_i64(a.pos[1], &li) || !parse_i64(a.pos[2], &packets) || li < 0 || packets < 0)
      BAD("usage: route_traffic <stats index> <packets> [bytes=100] [thread=0]");
    if (!kv_i64(&a, "bytes", 100, &bytes) || !kv_i64(&a, "thread", 0, &thread) || thread < 0 ||
        thread >= threads_n())
      BAD("route_traffic: bad number");
    if (li >= m->lb_next) {
      rv = RV_NO_SUCH_ENTRY;
    } else {
      m->rt_packets[thread][li] += (u64)packets;
      m->rt_bytes[thread][li] += (u64)(packets * bytes);
    }
  } else if (!strcmp(c, "control_file") || !strcmp(c, "state_file")) {
    if (a.npos != 2) BAD("usage: %s <path|->", c);
    char *dst = !strcmp(c, "control_file") ? G.ctl_path : G.state_path;
    snprintf(dst, PATH_MAX, "%s", strcmp(a.pos[1], "-") ? a.pos[1] : "");
    if (dst == G.ctl_path) G.ctl_off = 0;
    start_poller();
  } else {
    BAD("unknown command %s", c);
  }
  changed();
  return rv;
}

int fakevpp_ctl(const char *cmd, char *err, int errlen) {
  pthread_mutex_lock(&G.mu);
  int rv = ctl_locked(cmd, err, errlen);
  pthread_mutex_unlock(&G.mu);
  return rv;
}

void fakevpp_reset(void) {
  pthread_mutex_lock(&G.mu);
  reset_locked();
  pthread_mutex_unlock(&G.mu);
}

int fakevpp_set(const char *key, int64_t value) {
  pthread_mutex_lock(&G.mu);
  int rv = key ? set_knob(key, value) : -1;
  pthread_mutex_unlock(&G.mu);
  return rv;
}

static u32 count_used_vips(const model_t *m) {
  u32 n = 0;
  for (u32 i = 1; i < MAX_VIPS; i++) n += m->vips[i].in_pool && m->vips[i].used;
  return n;
}

static u32 count_used_ases(const model_t *m) {
  u32 n = 0;
  for (u32 i = 0; i < MAX_ASES; i++) n += m->ases[i].in_pool && m->ases[i].used;
  return n;
}

int64_t fakevpp_get(const char *key) {
  if (!key) return FAKEVPP_GET_UNKNOWN;
  pthread_mutex_lock(&G.mu);
  int64_t rv = FAKEVPP_GET_UNKNOWN;
  for (int i = 0; i < N_KNOBS; i++)
    if (!strcmp(KNOBS[i].name, key)) rv = *KNOBS[i].ptr;
#define RO(name, expr)                                                                                                 \
  if (!strcmp(key, name)) rv = (int64_t)(expr)
  RO("vpp_up", G.vpp_up);
  RO("hung", G.hung);
  RO("generation", G.generation);
  RO("crashes", G.crashes);
  RO("connected", G.connected);
  RO("conn_alive", conn_alive());
  RO("rx_queue", G.rx.count);
  RO("rx_high_water", G.rx_high_water);
  RO("rx_qlen", G.rx_qlen);
  RO("backlog", G.backlog.count);
  RO("stalled", G.stalled);
  RO("stalls", G.stalls);
  RO("outstanding", G.n_outstanding);
  RO("misuse", G.n_misuse);
  RO("requests", G.requests);
  RO("unknown_ids", G.unknown_ids);
  RO("lost_writes", G.lost_writes);
  RO("dropped", G.dropped);
  RO("failed", G.failed);
  RO("ctl_applied", G.ctl_applied);
  RO("stats_epoch", G.live.stats_epoch);
  RO("stat_connected", G.stat_connected);
  RO("vips", count_used_vips(&G.live));
  RO("ases", count_used_ases(&G.live));
  RO("msg_id_base_live", G.vpp_id_base);
#undef RO
  pthread_mutex_unlock(&G.mu);
  return rv;
}

/* ------------------------------------------------------------------------ */
/* State JSON                                                               */
/* ------------------------------------------------------------------------ */

static void state_json(sb_t *s) {
  model_t *m = &G.live;
  maybe_auto_gc();
  char b[128], b2[128];
  sb_printf(s, "{\"vpp\":{\"up\":%s,\"hung\":%s,\"generation\":%llu,\"pid\":%llu,\"crashes\":%llu,\"shm_files\":%s,"
               "\"uptime_s\":%u,\"msg_id_base\":%u,\"version\":",
            G.vpp_up ? "true" : "false", G.hung ? "true" : "false", (unsigned long long)G.generation,
            (unsigned long long)(27374 + G.generation), (unsigned long long)G.crashes, G.shm_files ? "true" : "false",
            G.vpp_up ? uptime_s(m) : 0, G.vpp_id_base);
  sb_json_str(s, G.version);
  sb_printf(s, ",\"api_prefix\":");
  sb_json_str(s, G.api_prefix);
  sb_printf(s, ",\"stats_socket\":");
  sb_json_str(s, G.stats_socket);
  sb_printf(s, "},\"client\":{\"mem_inited\":%s,\"connected\":%s,\"alive\":%s,\"name\":",
            G.mem_inited ? "true" : "false", G.connected ? "true" : "false", conn_alive() ? "true" : "false");
  sb_json_str(s, G.client_name);
  sb_printf(s,
            ",\"client_index\":%u,\"rx_qlen\":%d,\"callback_mode\":%s,\"rx_queue\":%u,\"rx_high_water\":%u,"
            "\"backlog\":%u,\"stalled\":%s,\"stalls\":%llu,\"outstanding\":%u,\"stat_connected\":%s,"
            "\"stat_generation\":%llu},",
            G.conn_client_index, G.rx_qlen, G.cb ? "true" : "false", G.rx.count, G.rx_high_water, G.backlog.count,
            G.stalled ? "true" : "false", (unsigned long long)G.stalls, G.n_outstanding,
            G.stat_connected ? "true" : "false", (unsigned long long)G.stat_gen);
  sb_printf(s, "\"knobs\":{");
  for (int i = 0; i < N_KNOBS; i++)
    sb_printf(s, "%s\"%s\":%lld", i ? "," : "", KNOBS[i].name, (long long)*KNOBS[i].ptr);
  sb_printf(s, "},\"msg_ids\":{");
  for (int i = 0; i < M_COUNT; i++)
    sb_printf(s, "%s\"%s_%08x\":%u", i ? "," : "", MSGS[i].name, MSGS[i].crc, G.vpp_id_base + (u32)i);
  fmt_addr(0, m->ip4_src, b, sizeof b);
  fmt_addr(1, m->ip6_src, b2, sizeof b2);
  sb_printf(s,
            "},\"conf\":{\"ip4_src_address\":\"%s\",\"ip6_src_address\":\"%s\",\"sticky_buckets_per_core\":%u,"
            "\"flow_timeout\":%u},\"vips\":[",
            b, b2, m->sticky_buckets, m->flow_timeout);
  bool first = true;
  for (u32 vi = 1; vi < MAX_VIPS && G.vpp_up; vi++) {
    vip_t *v = &m->vips[vi];
    if (!v->in_pool) continue;
    fmt_pfx(&v->pfx, b, sizeof b);
    sb_printf(s,
              "%s{\"index\":%u,\"prefix\":\"%s\",\"protocol\":%u,\"port\":%u,\"encap\":\"%s\",\"dscp\":%u,"
              "\"srv_type\":%u,\"target_port\":%u,\"node_port\":%u,\"new_flows_table_length\":%u,"
              "\"src_ip_sticky\":%s,\"removed\":%s,\"route_stats_index\":%u,\"counters\":{",
              first ? "" : ",", vi, b, v->proto, v->port, encap_name(v->encap), v->dscp, v->srv_type, v->target_port,
              v->node_port, v->new_len, v->sticky ? "true" : "false", v->used ? "false" : "true", v->lb_index);
    first = false;
    for (int k = 0; k < N_LBC; k++)
      sb_printf(s, "%s\"%s\":%llu", k ? "," : "", LBC_NAMES[k], (unsigned long long)lbc_sum(m, k, vi));
    sb_printf(s, "},\"ases\":[");
    u32 n = vip_as_list(m, vi, g_as_idx);
    for (u32 i = 0; i < n; i++) {
      as_t *a = &m->ases[g_as_idx[i]];
      fmt_addr(a->af, a->addr, b2, sizeof b2);
      sb_printf(s,
                "%s{\"address\":\"%s\",\"weight\":%u,\"flags\":%u,\"used\":%s,\"in_use_since\":%u,"
                "\"num_buckets\":%u,\"flows\":%u}",
                i ? "," : "", b2, a->weight, a->used ? 1 : 0, a->used ? "true" : "false", a->in_use_since,
                a->used ? a->buckets : 0, a->flows);
    }
    sb_printf(s, "]}");
  }
  sb_printf(s, "],\"routes\":[");
  first = true;
  for (u32 i = 0; i < MAX_VIPS && G.vpp_up; i++) {
    if (!m->routes[i].in_use) continue;
    fmt_pfx(&m->routes[i].pfx, b, sizeof b);
    sb_printf(s, "%s{\"prefix\":\"%s\",\"stats_index\":%u}", first ? "" : ",", b, m->routes[i].lb_index);
    first = false;
  }
  sb_printf(s, "],\"stats\":{\"epoch\":%llu,\"lb_counters\":%s,\"lb_vector_length\":%u,\"route_vector_length\":%u,"
               "\"heartbeat\":%g,\"boottime\":%.0f},",
            (unsigned long long)m->stats_epoch, m->lb_counters_present ? "true" : "false", m->lb_vec_len, m->lb_next,
            hb_value(m), m->boottime);
  sb_printf(s,
            "\"calls\":{\"requests\":%llu,\"unknown_ids\":%llu,\"lost_writes\":%llu,\"dropped\":%llu,"
            "\"failed\":%llu,\"by_message\":{",
            (unsigned long long)G.requests, (unsigned long long)G.unknown_ids, (unsigned long long)G.lost_writes,
            (unsigned long long)G.dropped, (unsigned long long)G.failed);
  first = true;
  for (int i = 0; i < M_COUNT; i++) {
    if (!G.req_count[i]) continue;
    sb_printf(s, "%s\"%s\":%llu", first ? "" : ",", MSGS[i].name, (unsigned long long)G.req_count[i]);
    first = false;
  }
  sb_printf(s, "},\"recent\":[");
  u64 start = G.n_recent > RECENT_RING ? G.n_recent - RECENT_RING : 0;
  for (u64 i = start; i < G.n_recent; i++)
    sb_printf(s, "%s\"%s\"", i == start ? "" : ",", MSGS[G.recent[i % RECENT_RING]].name);
  sb_printf(s, "]},\"faults\":[");
  for (int i = 0; i < G.n_faults; i++) {
    fault_t *f = &G.faults[i];
    sb_printf(s, "%s{\"message\":\"%s\",\"kind\":\"%s\",\"value\":%lld,\"remaining\":%lld}", i ? "," : "",
              f->msg < 0 ? "*" : MSGS[f->msg].name, f->kind == F_FAIL ? "fail" : f->kind == F_DROP ? "drop" : "slow",
              (long long)f->value, (long long)f->count);
  }
  sb_printf(s, "],\"connect_fail\":{\"rv\":%lld,\"remaining\":%lld},\"stats_connect_fail\":{\"rv\":%lld,"
               "\"remaining\":%lld},\"misuse_count\":%llu,\"misuse\":[",
            (long long)G.connect_fail_rv, (long long)G.connect_fail_count, (long long)G.stats_connect_fail_rv,
            (long long)G.stats_connect_fail_count, (unsigned long long)G.n_misuse);
  start = G.n_misuse > MISUSE_RING ? G.n_misuse - MISUSE_RING : 0;
  for (u64 i = start; i < G.n_misuse; i++) {
    if (i != start) sb_printf(s, ",");
    sb_json_str(s, G.misuse[i % MISUSE_RING] ? G.misuse[i % MISUSE_RING] : "");
  }
  sb_printf(s, "],\"control\":{\"file\":");
  sb_json_str(s, G.ctl_path);
  sb_printf(s, ",\"offset\":%lld,\"applied\":%llu,\"results\":[", (long long)G.ctl_off,
            (unsigned long long)G.ctl_applied);
  start = G.ctl_applied > CTL_RING ? G.ctl_applied - CTL_RING : 0;
  for (u64 i = start; i < G.ctl_applied; i++) {
    sb_printf(s, "%s{\"n\":%llu,\"line\":", i == start ? "" : ",", (unsigned long long)(i + 1));
    sb_json_str(s, G.ctl_lines[i % CTL_RING] ? G.ctl_lines[i % CTL_RING] : "");
    sb_printf(s, ",\"tag\":%lld,\"rv\":%d}", (long long)G.ctl_tags[i % CTL_RING], G.ctl_rvs[i % CTL_RING]);
  }
  sb_printf(s, "]}}");
}

int fakevpp_state_json(char *buf, int len) {
  sb_t s = {0};
  pthread_mutex_lock(&G.mu);
  state_json(&s);
  pthread_mutex_unlock(&G.mu);
  if (buf && len > 0) {
    size_t n = s.n < (size_t)len - 1 ? s.n : (size_t)len - 1;
    memcpy(buf, s.p, n);
    buf[n] = 0;
  }
  int rv = (int)s.n;
  free(s.p);
  return rv;
}

/* ------------------------------------------------------------------------ */
/* Control file / state file poller (for a daemon in another process)       */
/* ------------------------------------------------------------------------ */

static void poll_control_file(void) {
  if (!G.ctl_path[0]) return;
  int fd = open(G.ctl_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return;
  }
  if (st.st_size < G.ctl_off) G.ctl_off = 0; /* truncated or replaced */
  if (st.st_size == G.ctl_off) {
    close(fd);
    return;
  }
  size_t n = (size_t)(st.st_size - G.ctl_off);
  char *buf = malloc(n + 1);
  if (!buf) abort();
  ssize_t got = pread(fd, buf, n, G.ctl_off);
  close(fd);
  if (got <= 0) {
    free(buf);
    return;
  }
  buf[got] = 0;
  char *p = buf;
  for (;;) {
    char *nl = strchr(p, '\n');
    if (!nl) break; /* incomplete line: wait for the rest */
    *nl = 0;
    G.ctl_off += (off_t)(nl - p + 1);
    char *line = p;
    p = nl + 1;
    while (*line == ' ' || *line == '\t') line++;
    size_t l = strlen(line);
    while (l && (line[l - 1] == '\r' || line[l - 1] == ' ')) line[--l] = 0;
    if (!*line || *line == '#') continue;
    i64 tag = 0;
    if (*line == '@') { /* "@<tag> <command>": the tag is echoed in the results */
      char *end;
      tag = strtoll(line + 1, &end, 10);
      line = end;
      while (*line == ' ' || *line == '\t') line++;
    }
    char err[256];
    int rv = ctl_locked(line, err, sizeof err);
    if (rv == FAKEVPP_CTL_EBADCMD && !G.quiet) fprintf(stderr, "fakevpp: control \"%s\": %s\n", line, err);
    int slot = (int)(G.ctl_applied % CTL_RING);
    free(G.ctl_lines[slot]);
    G.ctl_lines[slot] = strdup(line);
    G.ctl_rvs[slot] = rv;
    G.ctl_tags[slot] = tag;
    G.ctl_applied++;
    changed();
  }
  free(buf);
}

static void write_state_file(const char *path, const char *json, size_t n) {
  char tmp[PATH_MAX + 32];
  snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) return;
  fwrite(json, 1, n, f);
  fclose(f);
  rename(tmp, path);
}

static void *poll_main(void *arg) {
  (void)arg;
  u64 written = UINT64_MAX;
  pthread_mutex_lock(&G.mu);
  while (!G.poll_stop) {
    poll_control_file();
    maybe_auto_gc();
    if (G.state_path[0] && written != G.version_no) {
      sb_t s = {0};
      state_json(&s);
      written = G.version_no;
      char path[PATH_MAX];
      snprintf(path, sizeof path, "%s", G.state_path);
      pthread_mutex_unlock(&G.mu);
      write_state_file(path, s.p, s.n);
      free(s.p);
      pthread_mutex_lock(&G.mu);
    }
    i64 ms = G.poll_ms > 0 ? G.poll_ms : 20;
    u64 deadline = now_ns() + (u64)ms * 1000000ull;
    while (!G.poll_stop && now_ns() < deadline) cv_wait_until(deadline);
  }
  pthread_mutex_unlock(&G.mu);
  return NULL;
}
