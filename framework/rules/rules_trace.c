/* The trace: one JSON line per command (as it left) and per TMR. */
#include <stdio.h>
#include <string.h>
#include "rules_internal.h"

void th_rules_set_trace(th_rules *r, FILE *f, double t0)
{
    pthread_mutex_lock(&r->trace_lock);
    r->trace = f;
    r->t0 = t0;
    pthread_mutex_unlock(&r->trace_lock);
}

static double now_s(void)
{
    return (double)th_now_ns() / 1e9;
}

void th_rules_trace_cmd(th_cmd *cmd, void *arg)
{
    th_rules *r = arg;
    if (!atomic_load_explicit(&r->trace, memory_order_relaxed)) return;
    const uint8_t *cdb = th_cmd_cdb(cmd);
    char hex[2 * 32 + 1] = "";
    size_t n = th_cmd_cdb_len(cmd) < 32 ? th_cmd_cdb_len(cmd) : 32;
    for (size_t i = 0; i < n; i++) snprintf(hex + 2 * i, 3, "%02x", cdb[i]);
    const char *name = r->op_name ? r->op_name(cdb[0], th_cmd_service_action(cmd)) : NULL;
    char opname[16];
    if (!name) {
        snprintf(opname, sizeof(opname), "0x%02X", cdb[0]);
        name = opname;
    }
    char sense[256] = "null";
    size_t slen;
    const uint8_t *sb = th_cmd_get_sense(cmd, &slen);
    th_sense s;
    if (sb && !th_sense_decode(sb, slen, &s)) {
        char info[24] = "null";
        if (s.info_valid) snprintf(info, sizeof(info), "%llu", (unsigned long long)s.info);
        snprintf(sense, sizeof(sense),
                 "{\"key\":\"%s\",\"asc\":%u,\"ascq\":%u,\"info\":%s,\"fm\":%s,\"eom\":%s,"
                 "\"ili\":%s}",
                 th_sense_key_name(s.key), s.asc, s.ascq, info, s.filemark ? "true" : "false",
                 s.eom ? "true" : "false", s.ili ? "true" : "false");
    }
    char rule[96] = "null";
    int rule_id = th_cmd_rule(cmd);
    if (rule_id == -2) {
        snprintf(rule, sizeof(rule), "\"unit_attention\"");
    } else if (rule_id >= 0) {
        pthread_mutex_lock(&r->lock);
        const char *rn = th_rules_name_locked(r, rule_id);
        if (rn[0])
            snprintf(rule, sizeof(rule), "\"%s\"", rn);
        else
            snprintf(rule, sizeof(rule), "%d", rule_id);
        pthread_mutex_unlock(&r->lock);
    }
    bool lba_op = th_cmd_xfer_len(cmd) || th_cmd_lba(cmd);
    char lba[64] = "";
    if (lba_op)
        snprintf(lba, sizeof(lba), ",\"lba\":%llu,\"blocks\":%u",
                 (unsigned long long)th_cmd_lba(cmd), th_cmd_xfer_len(cmd));
    pthread_mutex_lock(&r->trace_lock);
    if (r->trace) {
        fprintf(r->trace,
                "{\"t\":%.6f,\"device\":\"%s\",\"id\":%u,\"op\":\"%s\",\"cdb\":\"%s\"%s,"
                "\"status\":%u,\"sense\":%s,\"data_in\":%zu,\"buffer\":%zu,\"rule\":%s,"
                "\"aborted\":%s}\n",
                now_s() - r->t0, r->device, th_cmd_id(cmd), name, hex, lba, th_cmd_get_status(cmd),
                sense, th_cmd_get_data_in_len(cmd), th_cmd_data_out_len(cmd), rule,
                th_cmd_is_aborted(cmd) ? "true" : "false");
        fflush(r->trace);
    }
    pthread_mutex_unlock(&r->trace_lock);
}

void th_rules_trace_tmr(th_rules *r, uint8_t type, const uint16_t *ids, uint32_t n)
{
    pthread_mutex_lock(&r->trace_lock);
    if (r->trace) {
        fprintf(r->trace, "{\"t\":%.6f,\"device\":\"%s\",\"tmr\":\"%s\",\"ids\":[", now_s() - r->t0,
                r->device, th_tmr_name(type));
        for (uint32_t i = 0; i < n; i++) fprintf(r->trace, "%s%u", i ? "," : "", ids[i]);
        fprintf(r->trace, "]}\n");
        fflush(r->trace);
    }
    pthread_mutex_unlock(&r->trace_lock);
}
