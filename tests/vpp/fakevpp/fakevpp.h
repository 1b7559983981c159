/*
 * fakevpp: test control API of the libvppapiclient.so stand-in.
 *
 * These functions are exported next to the real vac_* and stat_segment_*
 * symbols. A test process that loads the same .so (same path) as the client
 * under test drives the fake VPP through them. A separate process (a daemon
 * under test) is driven through the control file instead: see README.md.
 *
 * All functions are thread-safe (one global mutex).
 */
#ifndef FAKEVPP_H
#define FAKEVPP_H

#include <stdint.h>

/* fakevpp_ctl() return value for a command it could not parse or run. */
#define FAKEVPP_CTL_EBADCMD (-1000)
/* fakevpp_get() return value for an unknown key. */
#define FAKEVPP_GET_UNKNOWN INT64_MIN

/*
 * Runs one control command (see README.md, "Control commands"), for
 * example "restart", "fail lb_add_del_as_v2 -6 2", "traffic 1 5".
 * Returns the command's result: 0 on success, a VPP retval (< 0) for model
 * operations that VPP itself would refuse, or FAKEVPP_CTL_EBADCMD with a
 * message in err (NUL-terminated, may be NULL) when the command is wrong.
 */
int fakevpp_ctl(const char *cmd, char *err, int errlen);

/* Sets a numeric knob. 0 = ok, -1 = unknown knob. */
int fakevpp_set(const char *key, int64_t value);

/* Reads a knob or a read-only counter; FAKEVPP_GET_UNKNOWN if unknown. */
int64_t fakevpp_get(const char *key);

/*
 * Writes the whole model and bookkeeping as JSON into buf (always
 * NUL-terminated when len > 0) and returns the full length the JSON needs
 * (without the NUL). Call again with a bigger buffer if the result >= len.
 */
int fakevpp_state_json(char *buf, int len);

/* Same as fakevpp_ctl("reset", NULL, 0). */
void fakevpp_reset(void);

#endif
