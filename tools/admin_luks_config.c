/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tagent-admin luks config: luks_config_file.yaml (spec 3.5, docs/tep-formats.md 5.5), the file that tells
 * the device which partition to encrypt and where the policy files are. The paths are the device's: by
 * default where config-apply puts the delivered files.
 */
#include "admin.h"
#include "admin_luks.h"
#include "cleanup.h"
#include "error.h"
#include "tcg_alg.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config_args {
    const char *dev_part, *out, *bank, *pcrs, *auth_pol, *pol_file, *pol_file_sign, *signed_states, *mapper,
        *integrity;
};

/* An absolute path of plain characters: the YAML is written without quoting, and the device rejects relative
 * paths (spec 3.5). */
static int path_check(const char *opt, const char *p, char **ret_error)
{
    bool ok = p[0] == '/' && strlen(p) < 4096;
    for (const char *c = p; ok && *c; c++)
        ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
             strchr("/._+-", *c);
    return ok ? 0
              : error_set(ret_error, -EINVAL,
                          "%s %s: give an absolute path on the device made of letters, digits and / . _ + -",
                          opt, p);
}

static char *device_path(const char *given, const char *name)
{
    char *p = NULL;
    if (given)
        return strdup(given);
    return asprintf(&p, "%s/%s", ADMIN_LUKS_DEVICE_DIR, name) < 0 ? NULL : p;
}

static int config(const struct config_args *a, char **ret_error)
{
    uint16_t bank = TCG_ALG_SHA256;
    uint32_t mask = LUKS_DEFAULT_PCRS;
    const char *mapper = a->mapper ? a->mapper : "tep_luks",
               *integrity = a->integrity ? a->integrity : "hmac-sha256";
    int r;
    if ((a->bank && (r = admin_luks_bank_parse(a->bank, &bank, ret_error)) < 0) ||
        (a->pcrs && (r = admin_luks_pcrs_parse(a->pcrs, &mask, ret_error)) < 0))
        return r;
    if (strcmp(integrity, "hmac-sha256") != 0 && strcmp(integrity, "none") != 0)
        return error_set(ret_error, -EINVAL,
                         "--integrity %s: give hmac-sha256 (dm-integrity) or none (a kernel without it)",
                         integrity);
    bool mapper_ok = mapper[0] && strlen(mapper) <= 64;
    for (const char *c = mapper; mapper_ok && *c; c++)
        mapper_ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                    *c == '_' || *c == '-';
    if (!mapper_ok)
        return error_set(ret_error, -EINVAL,
                         "--mapper-name %s: give 1 to 64 letters, digits, _ or - (a /dev/mapper name)",
                         mapper);

    char pol_name[96], sig_name[112], list[80];
    admin_luks_pol_file_name(mask, pol_name, sizeof(pol_name));
    snprintf(sig_name, sizeof(sig_name), "%s.signature", pol_name);
    admin_luks_pcrs_format(mask, ", ", list, sizeof(list));
    _cleanup_free_ char *auth = device_path(a->auth_pol, "authorized.policy");
    _cleanup_free_ char *pol = device_path(a->pol_file, pol_name);
    _cleanup_free_ char *sig = device_path(a->pol_file_sign, sig_name);
    if (!auth || !pol || !sig)
        return error_set(ret_error, -ENOMEM, "out of memory");
    if ((r = path_check("--dev-part", a->dev_part, ret_error)) < 0 ||
        (r = path_check("--auth-pol", auth, ret_error)) < 0 ||
        (r = path_check("--pol-file", pol, ret_error)) < 0 ||
        (r = path_check("--pol-file-sign", sig, ret_error)) < 0 ||
        (a->signed_states && (r = path_check("--signed-states", a->signed_states, ret_error)) < 0))
        return r;

    _cleanup_free_ char *yaml = NULL;
    if (asprintf(&yaml,
                 "# luks_config_file.yaml (docs/tep-formats.md 5.5), written by tagent-admin luks config\n"
                 "version: 1\n"
                 "dev_part: %s\n"
                 "auth_pol: %s\n"
                 "pol_file: %s\n"
                 "pol_file_sign: %s\n"
                 "pcr_bank: %s\n"
                 "pcrs: [%s]\n"
                 "sealed_handle: 0x8100A001\n"
                 "pubkey_nv_index: 0x018A0000\n"
                 "mapper_name: %s\n"
                 "integrity: %s\n"
                 "%s%s%s",
                 a->dev_part, auth, pol, sig, admin_luks_bank_name(bank), list, mapper, integrity,
                 a->signed_states ? "signed_states: " : "", a->signed_states ? a->signed_states : "",
                 a->signed_states ? "\n" : "") < 0)
        return error_set(ret_error, -ENOMEM, "out of memory");
    if ((r = admin_file_replace(a->out, yaml, strlen(yaml), 0644, ret_error)) < 0)
        return r;
    printf("wrote %s: %s, PCRs %s:%s, policy files in %s\n", a->out, a->dev_part, admin_luks_bank_name(bank),
           list, a->pol_file ? "the given paths" : ADMIN_LUKS_DEVICE_DIR);
    return 0;
}

static int luks_config_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dev-part", required_argument, NULL, 'd'},
        {"pcr-bank", required_argument, NULL, 'b'},
        {"pcrs", required_argument, NULL, 'p'},
        {"auth-pol", required_argument, NULL, 'A'},
        {"pol-file", required_argument, NULL, 'F'},
        {"pol-file-sign", required_argument, NULL, 'S'},
        {"signed-states", required_argument, NULL, 's'},
        {"mapper-name", required_argument, NULL, 'm'},
        {"integrity", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    struct config_args a = {0};
    _cleanup_free_ char *err = NULL;
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': a.dev_part = optarg; break;
        case 'b': a.bank = optarg; break;
        case 'p': a.pcrs = optarg; break;
        case 'A': a.auth_pol = optarg; break;
        case 'F': a.pol_file = optarg; break;
        case 'S': a.pol_file_sign = optarg; break;
        case 's': a.signed_states = optarg; break;
        case 'm': a.mapper = optarg; break;
        case 'i': a.integrity = optarg; break;
        case 'o': a.out = optarg; break;
        case 'h': admin_command_help(&admin_luks_config); return ADMIN_EXIT_OK;
        default: return admin_usage_error(&admin_luks_config, NULL);
        }
    }
    if (optind != argc)
        return admin_usage_error(&admin_luks_config, "unexpected argument");
    if (!a.dev_part || !a.out)
        return admin_usage_error(&admin_luks_config, "--dev-part and -o are required");
    if (config(&a, &err) < 0)
        return admin_error("luks config: %s", err ? err : "out of memory");
    return ADMIN_EXIT_OK;
}

const struct admin_command admin_luks_config = {
    .group = "luks",
    .name = "config",
    .usage = "--dev-part DEV -o luks_config_file.yaml [--pcr-bank sha256|sha384] [--pcrs 0,7,10] "
             "[--auth-pol PATH] [--pol-file PATH] [--pol-file-sign PATH] [--signed-states PATH] "
             "[--mapper-name NAME] [--integrity hmac-sha256|none]",
    .summary = "write the device's luks_config_file.yaml",
    .help = "  --dev-part DEV          the partition to encrypt, as the device names it (/dev/sda3)\n"
            "  --pcr-bank, --pcrs      as given to `luks policy` (default sha256, 0,7,10)\n"
            "  --auth-pol PATH         default " ADMIN_LUKS_DEVICE_DIR "/authorized.policy\n"
            "  --pol-file PATH         default " ADMIN_LUKS_DEVICE_DIR "/pcrA_B_C.pcr.policy (from --pcrs)\n"
            "  --pol-file-sign PATH    default the pol file's path + .signature\n"
            "  --signed-states PATH    the signed-states.json on the device (left out when not given)\n"
            "  --mapper-name NAME      /dev/mapper name (default tep_luks)\n"
            "  --integrity MODE        hmac-sha256 (default; needs dm-integrity) or none\n"
            "  -o, --output FILE       replaced atomically, mode 0644\n"
            "\n"
            "Paths are the device's and absolute: by default where config-apply puts the delivered files\n"
            "(" ADMIN_LUKS_DEVICE_DIR "). Keys as spec 3.5 / docs/tep-formats.md 5.5.\n",
    .run = luks_config_run,
};
