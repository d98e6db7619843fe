/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HVS's checks on a TpmQuoteResponse (NATS JSON form) and its measure-log replay, shared by tagent-hvs
 * (tests/mock/hvs_requester.c) and tests/integration/test_service.c. See isecl-hvs-protocol.md §5, §6, §12.
 *
 * hvs_verify_quote() runs every check it can and records each result in q->checks, in this order:
 *   response        ErrorCode 0 (and the fields HVS reads are present)
 *   aik-certificate Aik: base64 -> PEM -> X.509 with an RSA key
 *   quote-parse     TPMS_ATTEST (magic, type, qualifiedSigner, extraData, selection, pcrDigest),
 * TPMT_SIGNATURE aik-signature   RSA-PKCS1v1.5-SHA256 over the attest bytes with the AIK certificate's key
 *   nonce           extraData == SHA-256(nonce), or SHA-256(SHA-256(nonce) || tag48) when IsTagProvisioned
 *   pcr-digest      PCR values (bank-major, selection order) hash to pcrDigest; HVS's 2304-byte cap applies
 */
#ifndef TAGENT_HVS_VERIFY_H
#define TAGENT_HVS_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define HVS_MAX_CHECKS 8
#define HVS_MAX_BANKS  5

struct hvs_check {
    const char *name;
    bool ok;
    char msg[256]; /* why it failed ("" when ok) */
};

struct hvs_bank {
    uint16_t alg;        /* TPM_ALG_ID: 0x0004 SHA1, 0x000b SHA256, 0x000c SHA384 */
    const char *name;    /* "SHA1", "SHA256", "SHA384", or NULL for an algorithm HVS does not know */
    size_t size;         /* digest size, 0 if unknown */
    uint8_t select_size; /* sizeofSelect as sent (the agent sends 3) */
    uint8_t bits[3];     /* selection bitmap: pcr i -> bits[i/8] bit i%8 */
    bool have[24];       /* value present in the blob */
    uint8_t value[24][48];
};

struct hvs_quote {
    struct hvs_check checks[HVS_MAX_CHECKS];
    size_t nchecks;
    uint32_t nbanks;
    struct hvs_bank banks[HVS_MAX_BANKS];
    bool tag_provisioned;
    uint8_t tag[48];
};

/* Fills *q; returns true when every check passed. resp is the parsed reply, nonce what was sent. */
bool hvs_verify_quote(const cJSON *resp, const uint8_t *nonce, size_t nonce_len, struct hvs_quote *q);

/* The quoted value of bank name / pcr, or NULL if it was not quoted. */
const uint8_t *hvs_quoted_pcr(const struct hvs_quote *q, const char *bank, int pcr, size_t *ret_size);

struct hvs_replay {
    int compared;    /* bank/pcr pairs in the log whose replay was compared with a quoted value */
    int mismatched;  /* ... and differed */
    int unquoted;    /* bank/pcr pairs in the log the quote does not cover (reported, not compared) */
    cJSON *pcrs;     /* {"SHA256":{"0":"match"|"mismatch"|"not-quoted",...},...}; caller deletes */
    cJSON *details;  /* {"SHA256":{"7":{"replayed":hex,"quoted":hex}}} for mismatches; caller deletes */
    char error[256]; /* non-empty: the log could not be replayed at all (not JSON, bad measurement, ...) */
};

/* Replays the measure-log JSON (the reply's EventLog text) as HVS's TpmEventLog.Replay does: events merged
 * per bank/pcr in log order, start from zeros (PCR0: last byte 3 if its first event is EV_NO_ACTION tagged
 * StartupLocality3), EV_NO_ACTION skipped, value = H(value || measurement). Every replayed bank/pcr is
 * compared with the quoted value. Returns true when the log replayed and nothing mismatched. */
bool hvs_replay_eventlog(const char *eventlog, const struct hvs_quote *q, struct hvs_replay *r);

/* Small helpers shared with the callers. */
uint8_t *hvs_b64_decode(const char *s, size_t *ret_len); /* NULL if not base64; caller frees */
char *hvs_b64_encode(const uint8_t *p, size_t n);        /* caller frees */
void hvs_hex(const uint8_t *p, size_t n, char *out);     /* out: 2n+1 bytes */

#endif
