/* The mock control plane (tests/mock/tagent-mock-cp) checked with implementations that are not its own:
 * libcurl and a raw OpenSSL handshake as the clients, the IdentityChallengePayload built here with OpenSSL,
 * a real swtpm with an AIK made through quote/, tpm2_activatecredential (tpm2-tools) to recover what the
 * mock's MakeCredential hid, OpenSSL to check the certificates it issues, a JWT verified with the key it
 * publishes, and nats-server in operator mode accepting the .creds AAS mints.
 *
 * One swtpm and one mock serve the group; tests that need other start options start a second mock.
 * MOCK_CP_FILTER=<glob> runs only matching tests.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <nats/nats.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cleanup.h"
#include "tpm_fixture.h"

#define HOST_ID      "edge-07"
#define HW_UUID      "4c4c4544-0056-4d10-8048-b3c04f4c3233"
#define ENDORSE_AUTH FX_ENDORSEMENT_SECRET /* "hex:..." is also tpm2-tools' syntax */
#define EK_HANDLE    "0x81010000"
#define AIK_HANDLE   "0x81018000"

static struct fx fx;          /* swtpm with EK certificate, EK and AIK provisioned through quote/ */
static mockcp_t *mock;        /* the group's mock: EK CAs of fx's swtpm, NATS deployment in its dir */
static EVP_PKEY *privacy_pub; /* from GET /hvs/v2/ca-certificates/aik */
static X509 *privacy_cert;
static uint8_t *ek_der; /* the swtpm's EK certificate */
static size_t ek_der_len;

/* ---- HTTP through libcurl ---- */

struct http {
    long status;
    char *body;
    size_t len;
    char type[128];
    double seconds;
};

static size_t on_body(char *data, size_t size, size_t n, void *cls)
{
    struct http *h = cls;
    char *bigger = realloc(h->body, h->len + size * n + 1);

    if (!bigger)
        return 0;
    h->body = bigger;
    memcpy(h->body + h->len, data, size * n);
    h->len += size * n;
    h->body[h->len] = '\0';
    return size * n;
}

static void http_free(struct http *h)
{
    free(h->body);
    memset(h, 0, sizeof(*h));
}

/* headers: NULL-terminated "Name: value" lines ("Accept:" removes curl's default). body NULL: no body. */
static struct http http_do(const mockcp_t *m, const char *method, const char *path,
                           const char *const *headers, const char *body)
{
    struct http h = {0};
    struct curl_slist *list = NULL;
    CURL *curl = curl_easy_init();
    char url[512], *type = NULL;
    CURLcode rc;

    assert_non_null(curl);
    snprintf(url, sizeof(url), "%s%s", m->base_url, path);
    for (const char *const *p = headers; p && *p; p++)
        list = curl_slist_append(list, *p);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CAINFO, m->ca_file);
    curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &h);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    rc = curl_easy_perform(curl);
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, url, curl_easy_strerror(rc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &h.status);
    curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME, &h.seconds);
    if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type)
        snprintf(h.type, sizeof(h.type), "%s", type);
    if (!h.body)
        h.body = calloc(1, 1);
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    return h;
}

/* HVS-style request: bearer, Accept and (POST) Content-Type application/json, as the Go agent sends. */
static struct http hvs_do(const mockcp_t *m, const char *method, const char *path, const char *body)
{
    char auth[4096];

    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", m->bearer);
    const char *headers[] = {auth, "Accept: application/json", "Content-Type: application/json", NULL};

    return http_do(m, method, path, headers, body);
}

static struct http aas_do(const mockcp_t *m, const char *path, const char *body)
{
    char auth[4096];

    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", m->bearer);
    const char *headers[] = {auth, "Accept: text/plain", "Content-Type: application/json", NULL};

    return http_do(m, "POST", path, headers, body);
}

static struct http ca_download(const mockcp_t *m)
{
    const char *headers[] = {"Accept: application/x-pem-file", NULL};

    return http_do(m, "GET", "/cms/v1/ca-certificates", headers, NULL);
}

/* ---- a raw TLS 1.3 handshake: the served leaf's SHA-384, as the Go agent pins it ---- */

static void tls_leaf_sha384(const mockcp_t *m, char hex[97], bool *ret_chain_ok)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    BIO *bio;
    SSL *ssl = NULL;
    X509 *leaf;
    unsigned char md[48];
    unsigned int md_len = 0;
    char host[32];

    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION), 1);
    assert_int_equal(SSL_CTX_load_verify_locations(ctx, m->ca_file, NULL), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* like the Go agent: look first, judge by the pin */
    snprintf(host, sizeof(host), "127.0.0.1:%u", m->port);
    bio = BIO_new_ssl_connect(ctx);
    assert_non_null(bio);
    BIO_get_ssl(bio, &ssl);
    BIO_set_conn_hostname(bio, host);
    SSL_set1_host(ssl, "127.0.0.1");
    if (BIO_do_connect(bio) != 1 || BIO_do_handshake(bio) != 1) {
        ERR_print_errors_fp(stderr);
        fail_msg("TLS 1.3 handshake with %s failed", host);
    }
    assert_int_equal(SSL_version(ssl), TLS1_3_VERSION);
    leaf = SSL_get1_peer_certificate(ssl);
    assert_non_null(leaf);
    assert_int_equal(X509_digest(leaf, EVP_sha384(), md, &md_len), 1);
    for (unsigned i = 0; i < md_len; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
    if (ret_chain_ok)
        *ret_chain_ok = SSL_get_verify_result(ssl) == X509_V_OK;
    X509_free(leaf);
    BIO_free_all(bio);
    SSL_CTX_free(ctx);
}

/* ---- small helpers ---- */

static char *b64(const uint8_t *data, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);

    assert_non_null(out);
    assert_true(EVP_EncodeBlock((unsigned char *)out, data, (int)len) >= 0);
    return out;
}

static uint8_t *unb64(const char *text, size_t *ret_len)
{
    size_t len = strlen(text), pad = 0;
    uint8_t *out = malloc(len / 4 * 3 + 1);
    int n;

    assert_non_null(out);
    assert_int_equal(len % 4, 0);
    while (pad < 2 && len > pad && text[len - 1 - pad] == '=')
        pad++;
    n = EVP_DecodeBlock(out, (const unsigned char *)text, (int)len);
    assert_true(n >= 0);
    *ret_len = (size_t)n - pad;
    return out;
}

/* base64url without padding, as JWTs carry it. */
static uint8_t *unb64url(const char *text, size_t len, size_t *ret_len)
{
    char *std = calloc(len + 4, 1);
    uint8_t *out;

    assert_non_null(std);
    for (size_t i = 0; i < len; i++)
        std[i] = text[i] == '-' ? '+' : text[i] == '_' ? '/' : text[i];
    while (len % 4)
        std[len++] = '=';
    out = unb64(std, ret_len);
    free(std);
    return out;
}

static const char *json_str(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!cJSON_IsString(item))
        fail_msg("\"%s\" is not a string", key);
    return item->valuestring;
}

static uint8_t *json_b64(const cJSON *obj, const char *key, size_t *ret_len)
{
    return unb64(json_str(obj, key), ret_len);
}

static int json_keys(const cJSON *obj)
{
    return cJSON_GetArraySize(obj);
}

static cJSON *parse_strict(const char *text)
{
    const char *end = NULL;
    cJSON *json = cJSON_ParseWithOpts(text, &end, 1);

    return json;
}

static X509 *der_cert(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);

    assert_non_null(x);
    assert_ptr_equal(p, der + len);
    return x;
}

static void aes_cbc(bool encrypt, const uint8_t key[16], const uint8_t iv[16], const uint8_t *in,
                    size_t in_len, uint8_t **ret_out, size_t *ret_len)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    uint8_t *out = malloc(in_len + 32);
    int n1 = 0, n2 = 0;

    assert_non_null(ctx);
    assert_non_null(out);
    assert_int_equal(EVP_CipherInit_ex(ctx, EVP_aes_128_cbc(), NULL, key, iv, encrypt), 1);
    assert_int_equal(EVP_CipherUpdate(ctx, out, &n1, in, (int)in_len), 1);
    assert_int_equal(EVP_CipherFinal_ex(ctx, out + n1, &n2), 1);
    EVP_CIPHER_CTX_free(ctx);
    *ret_out = out;
    *ret_len = (size_t)n1 + (size_t)n2;
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---- the agent's side of the identity challenge, written here ---- */

struct payload_opts {
    int asym_scheme;    /* 0: 11 (OAEP) */
    int sym_scheme;     /* 0: 255 (CBC) */
    EVP_PKEY *wrap_key; /* NULL: the Privacy CA's key */
};

/* IdentityChallengePayload (spec 3.4 step 5) around data. */
static char *identity_payload(const uint8_t *data, size_t len, const struct payload_opts *o)
{
    static const struct payload_opts defaults;
    uint8_t key[16], iv[16], *symblob = NULL, *asymblob = NULL;
    size_t symblob_len = 0, asymblob_len = 0;
    EVP_PKEY_CTX *ctx;
    cJSON *root = cJSON_CreateObject(), *req, *asym, *sym;
    char *s, *text;

    if (!o)
        o = &defaults;
    assert_int_equal(RAND_bytes(key, sizeof(key)), 1);
    assert_int_equal(RAND_bytes(iv, sizeof(iv)), 1);
    aes_cbc(true, key, iv, data, len, &symblob, &symblob_len);
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, o->wrap_key ? o->wrap_key : privacy_pub, NULL);
    assert_non_null(ctx);
    assert_true(EVP_PKEY_encrypt_init(ctx) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) > 0);
    assert_true(EVP_PKEY_encrypt(ctx, NULL, &asymblob_len, key, sizeof(key)) > 0);
    asymblob = malloc(asymblob_len);
    assert_non_null(asymblob);
    assert_true(EVP_PKEY_encrypt(ctx, asymblob, &asymblob_len, key, sizeof(key)) > 0);
    EVP_PKEY_CTX_free(ctx);

    req = cJSON_AddObjectToObject(root, "identity_request");
    cJSON_AddStringToObject(req, "tpm_version", "2.0");
    cJSON_AddStringToObject(req, "aik_modulus", s = b64(fx.aik.modulus, sizeof(fx.aik.modulus)));
    free(s);
    cJSON_AddStringToObject(req, "aik_name", s = b64(fx.aik.name, fx.aik.name_len));
    free(s);
    asym = cJSON_AddObjectToObject(root, "tpm_asymmetric_params");
    cJSON_AddNumberToObject(asym, "TpmAlgId", 1);
    cJSON_AddNumberToObject(asym, "TpmAlgEncScheme", o->asym_scheme ? o->asym_scheme : 11);
    cJSON_AddNumberToObject(asym, "TpmAlgSignatureScheme", 1);
    cJSON_AddNumberToObject(asym, "KeyLength", 2048);
    cJSON_AddNumberToObject(asym, "PrimesCount", 2);
    cJSON_AddNumberToObject(asym, "ExponentSize", 0);
    sym = cJSON_AddObjectToObject(root, "tpm_symmetric_params");
    cJSON_AddNumberToObject(sym, "TpmAlgId", 6);
    cJSON_AddNumberToObject(sym, "TpmAlgEncScheme", o->sym_scheme ? o->sym_scheme : 255);
    cJSON_AddNumberToObject(sym, "TpmAlgSignatureScheme", 1);
    cJSON_AddNumberToObject(sym, "KeyLength", 128);
    cJSON_AddNumberToObject(sym, "BlockSize", 128);
    cJSON_AddStringToObject(sym, "IV", s = b64(iv, sizeof(iv)));
    free(s);
    cJSON_AddStringToObject(root, "symblob", s = b64(symblob, symblob_len));
    free(s);
    cJSON_AddStringToObject(root, "asymblob", s = b64(asymblob, asymblob_len));
    free(s);
    text = cJSON_PrintUnformatted(root);
    assert_non_null(text);
    cJSON_Delete(root);
    free(symblob);
    free(asymblob);
    OPENSSL_cleanse(key, sizeof(key));
    return text;
}

/* IdentityProofRequest -> TPM2_ActivateCredential by tpm2-tools -> AES key -> decrypted symmetric_blob. */
static void identity_proof_open(const char *json, uint8_t **ret_data, size_t *ret_len)
{
    cJSON *root = parse_strict(json), *params;
    uint8_t *secret, *credential, *iv, *blob, *key = NULL, *file;
    size_t secret_len, credential_len, iv_len, blob_len, key_len = 0;
    char *cred_path, *key_path = NULL, *session = NULL;
    static const uint8_t header[8] = {0xba, 0xdc, 0xc0, 0xde, 0, 0, 0, 1};

    assert_non_null(root);
    assert_int_equal(json_keys(root), 4);
    secret = json_b64(root, "secret", &secret_len);
    credential = json_b64(root, "credential", &credential_len);
    blob = json_b64(root, "symmetric_blob", &blob_len);
    params = cJSON_GetObjectItemCaseSensitive(root, "symmetric_params");
    assert_true(cJSON_IsObject(params));
    assert_int_equal(json_keys(params), 6);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(params, "TpmAlgId")->valueint, 6);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(params, "TpmAlgEncScheme")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(params, "TpmAlgSignatureScheme")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(params, "KeyLength")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(params, "BlockSize")->valueint, 0);
    iv = json_b64(params, "IV", &iv_len);
    assert_int_equal(iv_len, 16);

    /* secret = TPM2B_ENCRYPTED_SECRET (u16 size | RSA-2048 OAEP), credential = TPM2B_ID_OBJECT
     * (u16 size | u16 32 | HMAC | encIdentity of u16 16 | key): 2 + 2 + 32 + 18 bytes. */
    assert_int_equal(secret_len, 2 + 256);
    assert_int_equal(be16(secret), 256);
    assert_int_equal(credential_len, 2 + 2 + 32 + 18);
    assert_int_equal(be16(credential), credential_len - 2);
    assert_int_equal(be16(credential + 2), 32);

    /* tpm2_makecredential's file: magic, version 1, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET. */
    file = malloc(sizeof(header) + credential_len + secret_len);
    assert_non_null(file);
    memcpy(file, header, sizeof(header));
    memcpy(file + sizeof(header), credential, credential_len);
    memcpy(file + sizeof(header) + credential_len, secret, secret_len);
    cred_path = fx_file_write(&fx, "credential", file, sizeof(header) + credential_len + secret_len);
    assert_non_null(cred_path);
    assert_true(asprintf(&key_path, "%s/%u-certinfo", fx.dir, fx.files++) > 0);
    assert_true(asprintf(&session, "%s/%u-session.ctx", fx.dir, fx.files++) > 0);

    const char *tcti = fx.swtpm->tcti;
    const char *start[] = {"tpm2_startauthsession", "-T", tcti, "--policy-session", "-S", session, NULL};
    const char *policy[] = {"tpm2_policysecret", "-T", tcti, "-S", session, "-c", "e", ENDORSE_AUTH, NULL};
    char session_arg[600];
    snprintf(session_arg, sizeof(session_arg), "session:%s", session);
    const char *activate[] = {"tpm2_activatecredential",
                              "-T",
                              tcti,
                              "-c",
                              AIK_HANDLE,
                              "-C",
                              EK_HANDLE,
                              "-i",
                              cred_path,
                              "-o",
                              key_path,
                              "-P",
                              session_arg,
                              NULL};
    const char *flush[] = {"tpm2_flushcontext", "-T", tcti, session, NULL};

    assert_int_equal(fx_tool(&fx, start), 0);
    int r = fx_tool(&fx, policy);
    if (r == 0)
        r = fx_tool(&fx, activate);
    fx_tool(&fx, flush);
    assert_int_equal(r, 0);
    assert_int_equal(fx_file_read(key_path, &key, &key_len), 0);
    assert_int_equal(key_len, 16);
    aes_cbc(false, key, iv, blob, blob_len, ret_data, ret_len);

    OPENSSL_cleanse(key, key_len);
    free(key);
    free(file);
    free(cred_path);
    free(key_path);
    free(session);
    free(secret);
    free(credential);
    free(iv);
    free(blob);
    cJSON_Delete(root);
}

/* ---- group ---- */

static int group_setup(void **state)
{
    static const struct swtpm_opts opts = {.ek_cert = true, .pcr_banks = "sha256"};
    struct tpm_ek_cert cert = {0};
    _cleanup_free_ char *error = NULL;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (fx_start(&fx, &opts) < 0 || fx_provision(&fx) < 0)
        return -1;
    if (tpm_ek_cert_read(fx.tpm, &fx.owner, &cert, &error) < 0 || !cert.der) {
        fprintf(stderr, "tpm_ek_cert_read: %s\n", error ? error : "no certificate");
        return -1;
    }
    ek_der = malloc(cert.der_len);
    if (!ek_der)
        return -1;
    memcpy(ek_der, cert.der, cert.der_len);
    ek_der_len = cert.der_len;
    tpm_ek_cert_free(&cert);

    const char *ek_ca[] = {fx.swtpm->ek_ca_cert, fx.swtpm->ek_issuer_cert, NULL};
    const struct mockcp_opts mopts = {.ek_ca = ek_ca, .nats = true};
    return mockcp_start(&mopts, &mock) < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
    int r = mock ? mockcp_stop(mock) : 0;

    mockcp_free(mock);
    mock = NULL;
    EVP_PKEY_free(privacy_pub);
    X509_free(privacy_cert);
    free(ek_der);
    fx_free(&fx);
    curl_global_cleanup();
    return r < 0 || fx_no_children() < 0 ? -1 : 0;
}

static struct timespec test_start;

static int setup(void **state)
{
    clock_gettime(CLOCK_MONOTONIC, &test_start);
    return 0;
}

static int teardown(void **state)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    print_message("  (%.2f s)\n", (double)(now.tv_sec - test_start.tv_sec) +
                                      (double)(now.tv_nsec - test_start.tv_nsec) / 1e9);
    /* A failed fault test must not leave the group's mock misbehaving, nor the TPM with sessions. */
    int r = mock && mock->pid ? mockcp_fault(mock, NULL, "all") : 0;

    return r < 0 || fx_check_clean(&fx) < 0 ? -1 : 0;
}

/* ---- tests ---- */

static void test_ready_line_and_tls(void **state)
{
    char hex[97];
    bool chain_ok = false;
    struct http h;
    char *pem = NULL;
    size_t len = 0;

    assert_true(mock->port > 0);
    assert_int_equal(strlen(mock->tls_sha384), 96);
    for (const char *p = mock->tls_sha384; *p; p++)
        assert_non_null(strchr("0123456789abcdef", *p));
    assert_non_null(strstr(mock->cms_url, "/cms/v1"));
    assert_non_null(strstr(mock->aas_url, "/aas/v1"));
    assert_non_null(strstr(mock->hvs_url, "/hvs/v2"));
    assert_true(strncmp(mock->hvs_url, "https://127.0.0.1:", 18) == 0);

    /* The leaf it serves is the one it advertises, and chains to the CA it names. */
    tls_leaf_sha384(mock, hex, &chain_ok);
    assert_string_equal(hex, mock->tls_sha384);
    assert_true(chain_ok);

    /* The CA it serves is the file it names. */
    h = ca_download(mock);
    assert_int_equal(h.status, 200);
    assert_string_equal(h.type, "application/x-pem-file");
    assert_int_equal(fx_file_read(mock->ca_file, (uint8_t **)&pem, &len), 0);
    assert_int_equal(h.len, len);
    assert_memory_equal(h.body, pem, len);
    free(pem);
    http_free(&h);

    /* CA download needs no token but the PEM Accept. */
    const char *json_accept[] = {"Accept: application/json", NULL};
    h = http_do(mock, "GET", "/cms/v1/ca-certificates", json_accept, NULL);
    assert_int_equal(h.status, 406);
    http_free(&h);
    h = http_do(mock, "GET", "/cms/v1/ca-certificates", NULL, NULL); /* libcurl's "Accept: * / *" */
    assert_int_equal(h.status, 406);
    http_free(&h);
    h = http_do(mock, "GET", "/nowhere", NULL, NULL);
    assert_int_equal(h.status, 404);
    http_free(&h);
}

/* The CSR as the Go agent sends it: RSA-3072, SHA-384, CN only plus SANs, block type "BEGIN CERTIFICATE
 * REQUEST". */
static char *make_csr(EVP_PKEY **ret_key, const char *block_type)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509V3_CTX ctx;
    unsigned char *der = NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    char *data, *text;
    long len;
    int der_len;

    assert_non_null(key);
    assert_non_null(req);
    assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                                (const unsigned char *)"Trust Agent TLS Certificate", -1, -1,
                                                0),
                     1);
    assert_int_equal(X509_REQ_set_subject_name(req, name), 1);
    assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, NULL, NULL, req, NULL, 0);
    X509_EXTENSION *san = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    assert_non_null(san);
    sk_X509_EXTENSION_push(exts, san);
    assert_int_equal(X509_REQ_add_extensions(req, exts), 1);
    assert_true(X509_REQ_sign(req, key, EVP_sha384()) > 0);
    der_len = i2d_X509_REQ(req, &der);
    assert_true(der_len > 0);
    assert_true(PEM_write_bio(bio, block_type, "", der, der_len) > 0);
    len = BIO_get_mem_data(bio, &data);
    assert_true(len > 0);
    text = malloc((size_t)len + 1); /* BIO memory is not NUL-terminated */
    assert_non_null(text);
    memcpy(text, data, (size_t)len);
    text[len] = '\0';
    BIO_free(bio);
    OPENSSL_free(der);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(name);
    X509_REQ_free(req);
    *ret_key = key;
    return text;
}

static void test_cms_signs_csr(void **state)
{
    EVP_PKEY *key = NULL;
    char *csr = make_csr(&key, "BEGIN CERTIFICATE REQUEST"), auth[4096];
    STACK_OF(X509) *chain = sk_X509_new_null();
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *vctx = X509_STORE_CTX_new();
    BIO *bio;
    X509 *x, *cert;
    struct http h;

    assert_non_null(strstr(csr, "-----BEGIN BEGIN CERTIFICATE REQUEST-----"));
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", mock->bearer);
    const char *headers[] = {auth, "Accept: application/x-pem-file", "Content-Type: application/x-pem-file",
                             NULL};
    h = http_do(mock, "POST", "/cms/v1/certificates?certType=tls", headers, csr);
    assert_int_equal(h.status, 200);
    assert_string_equal(h.type, "application/x-pem-file");

    bio = BIO_new_mem_buf(h.body, (int)h.len);
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
        sk_X509_push(chain, x);
    ERR_clear_error();
    BIO_free(bio);
    assert_int_equal(sk_X509_num(chain), 2); /* the certificate, then the TLS CA that issued it */
    cert = sk_X509_value(chain, 0);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(cert), key), 1);
    char cn[128] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
    assert_string_equal(cn, "Trust Agent TLS Certificate");
    assert_int_equal(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_host(cert, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_get_signature_nid(cert), NID_ecdsa_with_SHA384);

    /* It chains to the CA that GET /ca-certificates serves, for a TLS server. */
    assert_int_equal(X509_STORE_load_file(store, mock->ca_file), 1);
    assert_int_equal(X509_STORE_CTX_init(vctx, store, cert, chain), 1);
    X509_STORE_CTX_set_purpose(vctx, X509_PURPOSE_SSL_SERVER);
    if (X509_verify_cert(vctx) != 1)
        fail_msg("issued certificate does not verify: %s",
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx)));
    http_free(&h);

    /* A plain "CERTIFICATE REQUEST" block is fine too; anything else, a wrong type or token is not. */
    EVP_PKEY *key2 = NULL, *key3 = NULL;
    char *csr2 = make_csr(&key2, "CERTIFICATE REQUEST");
    h = http_do(mock, "POST", "/cms/v1/certificates?certType=tls", headers, csr2);
    assert_int_equal(h.status, 200);
    http_free(&h);
    char *wrong_block = make_csr(&key3, "CERTIFICATE");
    h = http_do(mock, "POST", "/cms/v1/certificates?certType=tls", headers, wrong_block);
    assert_int_equal(h.status, 400);
    http_free(&h);
    h = http_do(mock, "POST", "/cms/v1/certificates?certType=signing", headers, csr);
    assert_int_equal(h.status, 400);
    http_free(&h);
    h = http_do(mock, "POST", "/cms/v1/certificates?certType=tls", headers + 1, csr);
    assert_int_equal(h.status, 401);
    http_free(&h);
    const char *wrong_token[] = {"Authorization: Bearer nope", headers[1], headers[2], NULL};
    h = http_do(mock, "POST", "/cms/v1/certificates?certType=tls", wrong_token, csr);
    assert_int_equal(h.status, 401);
    http_free(&h);
    const char *json_type[] = {auth, headers[1], "Content-Type: application/json", NULL};
    h = http_do(mock, "POST", "/cms/v1/certificates?certType=tls", json_type, csr);
    assert_int_equal(h.status, 415);
    http_free(&h);
    h = http_do(mock, "POST", "/cms/v1/certificates?certType=tls", headers, "not a pem");
    assert_int_equal(h.status, 400);
    http_free(&h);

    free(wrong_block);
    free(csr2);
    free(csr);
    EVP_PKEY_free(key);
    EVP_PKEY_free(key2);
    EVP_PKEY_free(key3);
    X509_STORE_CTX_free(vctx);
    X509_STORE_free(store);
    sk_X509_pop_free(chain, X509_free);
}

static void load_privacy_ca(void)
{
    struct http h;
    cJSON *root;
    uint8_t *der;
    size_t len;

    if (privacy_pub)
        return;
    h = hvs_do(mock, "GET", "/hvs/v2/ca-certificates/aik", NULL);
    assert_int_equal(h.status, 200);
    assert_string_equal(h.type, "application/json");
    root = parse_strict(h.body);
    assert_non_null(root);
    /* Exactly these fields: the Go client rejects unknown ones. */
    assert_int_equal(json_keys(root), 3);
    assert_non_null(json_str(root, "name"));
    assert_non_null(json_str(root, "type"));
    der = json_b64(root, "certificate", &len);
    privacy_cert = der_cert(der, len);
    privacy_pub = X509_get_pubkey(privacy_cert);
    assert_non_null(privacy_pub);
    assert_int_equal(EVP_PKEY_get_base_id(privacy_pub), EVP_PKEY_RSA);
    free(der);
    cJSON_Delete(root);
    http_free(&h);
}

static void test_privacy_ca(void **state)
{
    struct http h;

    load_privacy_ca();
    assert_true(EVP_PKEY_get_bits(privacy_pub) >= 2048);
    /* As HVS's create-privacy-ca makes it with Go: CN only, issuer = subject, keyUsage, basicConstraints,
     * subjectKeyIdentifier and a SAN with one empty dNSName (the empty san-list), SHA256WithRSA. */
    assert_int_equal(X509_NAME_cmp(X509_get_subject_name(privacy_cert), X509_get_issuer_name(privacy_cert)),
                     0);
    assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(privacy_cert)), 1);
    assert_int_equal(X509_get_signature_nid(privacy_cert), NID_sha256WithRSAEncryption);
    assert_int_equal(X509_get_ext_count(privacy_cert), 4);
    static const int order[] = {NID_key_usage, NID_basic_constraints, NID_subject_key_identifier,
                                NID_subject_alt_name};
    for (int i = 0; i < 4; i++)
        assert_int_equal(OBJ_obj2nid(X509_EXTENSION_get_object(X509_get_ext(privacy_cert, i))), order[i]);
    assert_true(X509_get_extension_flags(privacy_cert) & EXFLAG_CA);
    assert_int_equal(X509_get_key_usage(privacy_cert), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    /* Token, Accept. */
    h = http_do(mock, "GET", "/hvs/v2/ca-certificates/aik",
                (const char *[]){"Accept: application/json", NULL}, NULL);
    assert_int_equal(h.status, 401);
    http_free(&h);
    char auth[4096];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", mock->bearer);
    h = http_do(mock, "GET", "/hvs/v2/ca-certificates/aik",
                (const char *[]){auth, "Accept: text/plain", NULL}, NULL);
    assert_int_equal(h.status, 406);
    http_free(&h);
}

static void check_aik_cert(X509 *cert)
{
    EVP_PKEY *pub = X509_get0_pubkey(cert);
    BIGNUM *n = NULL, *e = NULL;
    uint8_t modulus[256];
    char cn[128] = "", issuer_cn[128] = "", ca_issuer_cn[128] = "";
    const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
    BIGNUM *serial_bn = ASN1_INTEGER_to_BN(serial, NULL);
    ASN1_OBJECT *oid = OBJ_txt2obj("2.5.29.17", 1);

    /* Key: the TPM's AIK, e = 65537. */
    assert_int_equal(EVP_PKEY_eq(pub, fx.aik_key), 1);
    assert_int_equal(EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &n), 1);
    assert_int_equal(EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &e), 1);
    assert_int_equal(BN_bn2binpad(n, modulus, sizeof(modulus)), 256);
    assert_memory_equal(modulus, fx.aik.modulus, 256);
    assert_true(BN_is_word(e, 65537));

    /* What HVS's CertifyAik gets from Go's x509.CreateCertificate: subject CN = the Privacy CA certificate's
     * issuer CN (a PrintableString, as Go writes a plain string), issuer = the Privacy CA's subject bytes,
     * v3, SHA256WithRSA, signed by the Privacy CA. */
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
    X509_NAME_get_text_by_NID(X509_get_issuer_name(cert), NID_commonName, issuer_cn, sizeof(issuer_cn));
    X509_NAME_get_text_by_NID(X509_get_issuer_name(privacy_cert), NID_commonName, ca_issuer_cn,
                              sizeof(ca_issuer_cn));
    assert_string_equal(ca_issuer_cn, "HVS Privacy Certificate");
    assert_string_equal(cn, ca_issuer_cn);
    assert_string_equal(issuer_cn, ca_issuer_cn);
    assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(cert)), 1);
    assert_int_equal(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(X509_get_subject_name(cert), 0))->type,
                     V_ASN1_PRINTABLESTRING);
    unsigned char *a = NULL, *b = NULL;
    int a_len = i2d_X509_NAME(X509_get_issuer_name(cert), &a),
        b_len = i2d_X509_NAME(X509_get_subject_name(privacy_cert), &b);
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a, b, (size_t)a_len);
    OPENSSL_free(a);
    a = NULL;
    a_len = i2d_X509_NAME(X509_get_subject_name(cert), &a);
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a, b, (size_t)a_len);
    OPENSSL_free(a);
    OPENSSL_free(b);
    assert_int_equal(X509_get_version(cert), X509_VERSION_3);
    assert_int_equal(X509_get_signature_nid(cert), NID_sha256WithRSAEncryption);
    assert_int_equal(X509_verify(cert, privacy_pub), 1);

    /* Random positive serial of at most 128 bits. */
    assert_non_null(serial_bn);
    assert_false(BN_is_negative(serial_bn));
    assert_true(BN_num_bits(serial_bn) > 64 && BN_num_bits(serial_bn) <= 128);

    /* No extensions at all: HVS's 2.5.29.17 with the raw AIK name sits in template.Extensions, which Go's
     * CreateCertificate ignores (a SAN like that would make Go's parser refuse the certificate). */
    assert_int_equal(X509_get_ext_count(cert), 0);
    assert_true(X509_get_ext_by_OBJ(cert, oid, -1) < 0);

    /* NotBefore = now (not backdated), NotAfter = now + 1 calendar year (the mock's default validity). */
    int days = 0, secs = 0;
    time_t now = time(NULL);
    assert_true(X509_cmp_time(X509_get0_notBefore(cert), &now) <= 0);
    now -= 120;
    assert_true(X509_cmp_time(X509_get0_notBefore(cert), &now) > 0);
    assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert), X509_get0_notAfter(cert)), 1);
    assert_true((days == 365 || days == 366) && secs == 0);

    ASN1_OBJECT_free(oid);
    BN_free(serial_bn);
    BN_free(n);
    BN_free(e);
}

static void test_identity_challenge(void **state)
{
    char *payload;
    uint8_t *challenge = NULL, *aik_der = NULL;
    size_t challenge_len = 0, aik_der_len = 0;
    struct http h;
    X509 *cert;

    load_privacy_ca();

    /* Round 1: the EK certificate -> a credential only this TPM's EK + AIK can open. */
    payload = identity_payload(ek_der, ek_der_len, NULL);
    h = hvs_do(mock, "POST", "/hvs/v2/privacyca/identity-challenge-request", payload);
    if (h.status != 200)
        fail_msg("identity-challenge-request: %ld %s", h.status, h.body);
    assert_string_equal(h.type, "application/json");
    identity_proof_open(h.body, &challenge, &challenge_len);
    assert_int_equal(challenge_len, 32);
    http_free(&h);
    free(payload);

    /* Round 2: the challenge back -> the AIK certificate, again behind ActivateCredential. */
    payload = identity_payload(challenge, challenge_len, NULL);
    h = hvs_do(mock, "POST", "/hvs/v2/privacyca/identity-challenge-response", payload);
    if (h.status != 200)
        fail_msg("identity-challenge-response: %ld %s", h.status, h.body);
    identity_proof_open(h.body, &aik_der, &aik_der_len);
    http_free(&h);
    cert = der_cert(aik_der, aik_der_len);
    check_aik_cert(cert);

    /* A challenge answers once. */
    h = hvs_do(mock, "POST", "/hvs/v2/privacyca/identity-challenge-response", payload);
    assert_int_equal(h.status, 400);
    http_free(&h);

    /* The mock keeps what it issued (for later quote verification) and says so in its state. */
    char *state_json = NULL, name_hex[69];
    assert_int_equal(mockcp_state(mock, &state_json), 0);
    fx_hex(fx.aik.name, fx.aik.name_len, name_hex, sizeof(name_hex));
    assert_non_null(strstr(state_json, name_hex));
    free(state_json);

    free(payload);
    free(challenge);
    free(aik_der);
    X509_free(cert);
}

static void test_identity_challenge_refusals(void **state)
{
    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    X509 *self = X509_new();
    unsigned char *self_der = NULL;
    int self_len;
    char *payload;
    struct http h;
    uint8_t random_challenge[32];

    load_privacy_ca();
    assert_non_null(other);

    /* An EK certificate nobody vouches for. */
    X509_set_version(self, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(self), 7);
    X509_gmtime_adj(X509_getm_notBefore(self), -60);
    X509_gmtime_adj(X509_getm_notAfter(self), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(self), "CN", MBSTRING_ASC,
                               (const unsigned char *)"fake EK", -1, -1, 0);
    X509_set_issuer_name(self, X509_get_subject_name(self));
    X509_set_pubkey(self, other);
    assert_true(X509_sign(self, other, EVP_sha256()) > 0);
    self_len = i2d_X509(self, &self_der);
    assert_true(self_len > 0);
    payload = identity_payload(self_der, (size_t)self_len, NULL);
    h = hvs_do(mock, "POST", "/hvs/v2/privacyca/identity-challenge-request", payload);
    assert_int_equal(h.status, 400);
    assert_non_null(strstr(h.body, "EK"));
    http_free(&h);
    free(payload);

    /* The key wrapped for someone else, the wrong symmetric scheme, PKCS#1 v1.5 where OAEP was used. */
    const struct payload_opts wrong_key = {.wrap_key = other}, wrong_sym = {.sym_scheme = 1},
                              wrong_asym = {.asym_scheme = 3};
    const struct payload_opts *bad[] = {&wrong_key, &wrong_sym, &wrong_asym};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        payload = identity_payload(ek_der, ek_der_len, bad[i]);
        h = hvs_do(mock, "POST", "/hvs/v2/privacyca/identity-challenge-request", payload);
        print_message("  bad payload %zu: %ld %s", i, h.status, h.body);
        assert_int_equal(h.status, 400);
        http_free(&h);
        free(payload);
    }

    /* A challenge it never made. */
    assert_int_equal(RAND_bytes(random_challenge, sizeof(random_challenge)), 1);
    payload = identity_payload(random_challenge, sizeof(random_challenge), NULL);
    h = hvs_do(mock, "POST", "/hvs/v2/privacyca/identity-challenge-response", payload);
    assert_int_equal(h.status, 400);
    http_free(&h);

    /* Not JSON; no token; wrong Content-Type. */
    h = hvs_do(mock, "POST", "/hvs/v2/privacyca/identity-challenge-request", "{\"identity_request\":");
    assert_int_equal(h.status, 400);
    http_free(&h);
    h = http_do(mock, "POST", "/hvs/v2/privacyca/identity-challenge-request",
                (const char *[]){"Accept: application/json", "Content-Type: application/json", NULL},
                payload);
    assert_int_equal(h.status, 401);
    http_free(&h);
    char auth[4096];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", mock->bearer);
    h = http_do(mock, "POST", "/hvs/v2/privacyca/identity-challenge-request",
                (const char *[]){auth, "Accept: application/json", "Content-Type: text/plain", NULL},
                payload);
    assert_int_equal(h.status, 415);
    http_free(&h);
    free(payload);

    OPENSSL_free(self_der);
    X509_free(self);
    EVP_PKEY_free(other);
}

static void test_hosts_flavors_manifests_reports(void **state)
{
    struct http h;
    cJSON *root, *hosts, *host;
    char auth[4096];

    h = hvs_do(mock, "GET", "/hvs/v2/hosts?nameEqualTo=" HOST_ID, NULL);
    assert_int_equal(h.status, 200);
    assert_string_equal(h.body, "{\"hosts\":[]}");
    http_free(&h);

    h = hvs_do(mock, "POST", "/hvs/v2/hosts",
               "{\"host_name\":\"" HOST_ID "\",\"connection_string\":\"intel:nats://" HOST_ID "\"}");
    assert_int_equal(h.status, 201);
    root = parse_strict(h.body);
    assert_non_null(root);
    assert_string_equal(json_str(root, "host_name"), HOST_ID);
    assert_int_equal(strlen(json_str(root, "id")), 36);
    cJSON_Delete(root);
    http_free(&h);

    h = hvs_do(mock, "GET", "/hvs/v2/hosts?nameEqualTo=" HOST_ID, NULL);
    assert_int_equal(h.status, 200);
    root = parse_strict(h.body);
    hosts = cJSON_GetObjectItemCaseSensitive(root, "hosts");
    assert_int_equal(cJSON_GetArraySize(hosts), 1);
    host = cJSON_GetArrayItem(hosts, 0);
    assert_string_equal(json_str(host, "connection_string"), "intel:nats://" HOST_ID);
    cJSON_Delete(root);
    http_free(&h);
    h = hvs_do(mock, "GET", "/hvs/v2/hosts?nameEqualTo=someone-else", NULL);
    assert_string_equal(h.body, "{\"hosts\":[]}");
    http_free(&h);

    /* Same name again, no connection string, not JSON. */
    h = hvs_do(mock, "POST", "/hvs/v2/hosts",
               "{\"host_name\":\"" HOST_ID "\",\"connection_string\":\"intel:nats://" HOST_ID "\"}");
    assert_int_equal(h.status, 400);
    http_free(&h);
    h = hvs_do(mock, "POST", "/hvs/v2/hosts", "{\"host_name\":\"x\"}");
    assert_int_equal(h.status, 400);
    http_free(&h);

    /* create-host-unique-flavor, with the empty collections the Go agent also sends. */
    h = hvs_do(
        mock, "POST", "/hvs/v2/flavors",
        "{\"connection_string\":\"intel:nats://" HOST_ID "\",\"partial_flavor_types\":[\"HOST_UNIQUE\"],"
        "\"flavor_collection\":{\"flavors\":null},\"signed_flavor_collection\":{\"signed_flavors\":null}}");
    assert_int_equal(h.status, 201);
    root = parse_strict(h.body);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "signed_flavors")), 1);
    cJSON_Delete(root);
    http_free(&h);
    h = hvs_do(mock, "POST", "/hvs/v2/flavors", "{\"connection_string\":\"intel:nats://x\"}");
    assert_int_equal(h.status, 400);
    http_free(&h);

    /* Manifests come as XML. */
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", mock->bearer);
    const char *xml[] = {auth, "Accept: application/xml", NULL};
    h = http_do(mock, "GET", "/hvs/v2/manifests?id=" HW_UUID, xml, NULL);
    assert_int_equal(h.status, 200);
    assert_string_equal(h.type, "application/xml");
    assert_non_null(strstr(h.body, "<Manifest xmlns=\"lib:wml:manifests:1.0\""));
    assert_non_null(strstr(h.body, "Uuid=\"" HW_UUID "\""));
    http_free(&h);

    /* The startup report request. */
    h = hvs_do(mock, "POST", "/hvs/v2/reports?process=async",
               "{\"host_id\":\"00000000-0000-0000-0000-000000000000\",\"hardware_uuid\":\"" HW_UUID
               "\",\"host_name\":\"\"}");
    assert_int_equal(h.status, 202);
    http_free(&h);

    /* Token and Accept on every HVS path. */
    h = http_do(mock, "GET", "/hvs/v2/hosts", (const char *[]){"Accept: application/json", NULL}, NULL);
    assert_int_equal(h.status, 401);
    http_free(&h);
    h = http_do(mock, "GET", "/hvs/v2/hosts", (const char *[]){auth, "Accept:", NULL}, NULL);
    assert_int_equal(h.status, 406);
    http_free(&h);

    char *state_json = NULL;
    assert_int_equal(mockcp_state(mock, &state_json), 0);
    root = parse_strict(state_json);
    assert_non_null(root);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "hosts")), 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "flavors")), 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "reports")), 1);
    cJSON_Delete(root);
    free(state_json);
}

/* A JWT in the form the Go agent checks (three base64url parts, no padding), signed ES384 by the key whose
 * certificate the mock's AAS publishes; returns its payload (caller deletes). */
static cJSON *jwt_payload_checked(const char *jwt)
{
    const char *pem_accept[] = {"Accept: application/x-pem-file", NULL};
    struct http certs = http_do(mock, "GET", "/aas/v1/jwt-certificates", pem_accept, NULL);
    const char *dot1 = strchr(jwt, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    uint8_t *part, *sig;
    size_t part_len, sig_len;
    BIO *bio;
    X509 *signer;
    cJSON *header, *payload;

    assert_non_null(dot2);
    assert_int_equal(strspn(jwt, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
                     strlen(jwt));
    assert_true(dot1 > jwt && dot2 > dot1 + 1 && dot2[1]);
    assert_null(strchr(dot2 + 1, '.'));
    assert_int_equal(certs.status, 200);
    bio = BIO_new_mem_buf(certs.body, (int)certs.len);
    signer = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(signer);
    part = unb64url(jwt, (size_t)(dot1 - jwt), &part_len);
    header = cJSON_ParseWithLength((const char *)part, part_len);
    free(part);
    assert_non_null(header);
    assert_string_equal(json_str(header, "alg"), "ES384");
    /* kid = hex SHA-1 of the signing certificate AAS publishes */
    unsigned char sha1[20];
    unsigned int sha1_len = 0;
    char kid[41];
    assert_int_equal(X509_digest(signer, EVP_sha1(), sha1, &sha1_len), 1);
    for (unsigned i = 0; i < sha1_len; i++)
        sprintf(kid + 2 * i, "%02x", sha1[i]);
    assert_string_equal(json_str(header, "kid"), kid);
    sig = unb64url(dot2 + 1, strlen(dot2 + 1), &sig_len);
    assert_int_equal(sig_len, 96);
    ECDSA_SIG *esig = ECDSA_SIG_new();
    ECDSA_SIG_set0(esig, BN_bin2bn(sig, 48, NULL), BN_bin2bn(sig + 48, 48, NULL));
    unsigned char *der = NULL;
    int der_len = i2d_ECDSA_SIG(esig, &der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, X509_get0_pubkey(signer)), 1);
    assert_int_equal(
        EVP_DigestVerify(md, der, (size_t)der_len, (const unsigned char *)jwt, (size_t)(dot2 - jwt)), 1);
    part = unb64url(dot1 + 1, (size_t)(dot2 - dot1 - 1), &part_len);
    payload = cJSON_ParseWithLength((const char *)part, part_len);
    assert_non_null(payload);
    free(part);
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(esig);
    free(sig);
    cJSON_Delete(header);
    X509_free(signer);
    http_free(&certs);
    return payload;
}

static void test_aas_token(void **state)
{
    static const char request[] =
        "{\"subject\":\"" HW_UUID "\",\"validity_seconds\":31536000,\"claims\":{\"permissions\":"
        "[{\"service\":\"HVS\",\"rules\":[\"reports:create:*\",\"hosts:search:*\"]}]}}";
    struct http h;
    cJSON *payload, *expected;

    h = aas_do(mock, "/aas/v1/custom-claims-token", request);
    assert_int_equal(h.status, 200);
    assert_true(strncmp(h.type, "text/plain", 10) == 0);
    /* ES384 with kid = hex SHA-1 of the signing certificate AAS publishes, signed r || s */
    payload = jwt_payload_checked(h.body);

    /* Payload: the subject, the permissions asked for, exp - iat = validity. */
    assert_string_equal(json_str(payload, "sub"), HW_UUID);
    expected = cJSON_Parse(request);
    assert_true(cJSON_Compare(
        cJSON_GetObjectItemCaseSensitive(payload, "permissions"),
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(expected, "claims"), "permissions"),
        1));
    assert_true(cJSON_GetObjectItemCaseSensitive(payload, "exp")->valuedouble -
                    cJSON_GetObjectItemCaseSensitive(payload, "iat")->valuedouble ==
                31536000.0);
    cJSON_Delete(expected);
    cJSON_Delete(payload);
    http_free(&h);

    /* Wrong shapes and headers. */
    static const char *const bad[] = {
        "{\"validity_seconds\":1,\"claims\":{\"permissions\":[{\"service\":\"HVS\",\"rules\":[\"a:b\"]}]}}",
        "{\"subject\":\"not-a-uuid\",\"validity_seconds\":1,\"claims\":{\"permissions\":[{\"service\":"
        "\"HVS\","
        "\"rules\":[\"a:b\"]}]}}",
        "{\"subject\":\"" HW_UUID "\",\"validity_seconds\":\"1\",\"claims\":{\"permissions\":[{\"service\":"
        "\"HVS\",\"rules\":[\"a:b\"]}]}}",
        "{\"subject\":\"" HW_UUID "\",\"validity_seconds\":1}",
        "{\"subject\":\"" HW_UUID "\",\"validity_seconds\":1,\"claims\":{\"permissions\":[{\"rules\":[]}]}}",
        "[]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        h = aas_do(mock, "/aas/v1/custom-claims-token", bad[i]);
        assert_int_equal(h.status, 400);
        http_free(&h);
    }
    char auth[4096];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", mock->bearer);
    h = http_do(mock, "POST", "/aas/v1/custom-claims-token",
                (const char *[]){auth, "Accept: application/json", "Content-Type: application/json", NULL},
                request);
    assert_int_equal(h.status, 406);
    http_free(&h);
    h = http_do(mock, "POST", "/aas/v1/custom-claims-token",
                (const char *[]){"Accept: text/plain", "Content-Type: application/json", NULL}, request);
    assert_int_equal(h.status, 401);
    http_free(&h);
}

static void test_install_token(void **state)
{
    const char *json[] = {"Content-Type: application/json", NULL};
    struct http h;
    cJSON *payload;

    /* What the harness hands the agent as BEARER_TOKEN is a JWT from the mock's AAS, and HVS takes it. */
    payload = jwt_payload_checked(mock->bearer);
    assert_string_equal(json_str(payload, "sub"), "installadmin");
    assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(payload, "roles")));
    assert_true(cJSON_GetObjectItemCaseSensitive(payload, "exp")->valuedouble -
                    cJSON_GetObjectItemCaseSensitive(payload, "iat")->valuedouble ==
                7200.0);
    cJSON_Delete(payload);
    h = hvs_do(mock, "GET", "/hvs/v2/hosts", NULL);
    assert_int_equal(h.status, 200);
    http_free(&h);

    /* POST /aas/v1/token as an administrator calls it: no token, the user's name and password. */
    h = http_do(mock, "POST", "/aas/v1/token", json,
                "{\"username\":\"installadmin\",\"password\":\"" MOCKCP_DEFAULT_BEARER "\"}");
    assert_int_equal(h.status, 200);
    assert_string_equal(h.type, "application/jwt");
    payload = jwt_payload_checked(h.body);
    cJSON_Delete(payload);
    char auth[4096];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", h.body);
    http_free(&h);
    h = http_do(mock, "GET", "/hvs/v2/hosts", (const char *[]){auth, "Accept: application/json", NULL}, NULL);
    assert_int_equal(h.status, 200);
    http_free(&h);
    static const char *const refused[][2] = {
        {"{\"username\":\"installadmin\",\"password\":\"wrong\"}", "401"},
        {"{\"username\":\"admin\",\"password\":\"" MOCKCP_DEFAULT_BEARER "\"}", "401"},
        {"{\"username\":\"installadmin\",\"password\":\"" MOCKCP_DEFAULT_BEARER "\",\"x\":1}", "400"},
        {"[]", "400"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        h = http_do(mock, "POST", "/aas/v1/token", json, refused[i][0]);
        assert_int_equal(h.status, atoi(refused[i][1]));
        http_free(&h);
    }
}

struct nats_reply {
    natsConnection *conn;
};

static void on_quote_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    if (natsMsg_GetReply(msg))
        natsConnection_PublishString(nc, natsMsg_GetReply(msg), "quote-reply");
    natsMsg_Destroy(msg);
}

static void test_aas_credentials_for_nats(void **state)
{
    struct http h;
    char *lines[16] = {0}, *save = NULL, *copy, *account_pub = NULL, *creds_path, *hvs_creds = NULL;
    size_t n = 0, len = 0;
    natsd_t *nats = NULL;
    natsOptions *agent_opts = NULL, *hvs_opts = NULL;
    natsConnection *agent = NULL, *hvs = NULL;
    natsSubscription *sub = NULL;
    natsMsg *reply = NULL;

    h = aas_do(mock, "/aas/v1/credentials", "{\"type\":\"TA\",\"parameters\":{\"host-id\":\"" HOST_ID "\"}}");
    assert_int_equal(h.status, 201);
    assert_true(strncmp(h.type, "text/plain", 10) == 0);

    /* The .creds layout AAS writes (spec 3.6). */
    copy = strdup(h.body);
    for (char *line = strtok_r(copy, "\n", &save); line && n < 16; line = strtok_r(NULL, "\n", &save))
        if (*line)
            lines[n++] = line;
    size_t seed = 0;
    assert_true(n >= 6);
    assert_string_equal(lines[0], "-----BEGIN NATS USER JWT-----");
    assert_string_equal(lines[2], "------END NATS USER JWT------");
    while (seed < n && strcmp(lines[seed], "-----BEGIN USER NKEY SEED-----") != 0)
        seed++;
    assert_true(seed > 3 && seed + 2 < n);
    assert_true(strncmp(lines[seed + 1], "SU", 2) == 0 && strlen(lines[seed + 1]) == 58);
    assert_string_equal(lines[seed + 2], "------END USER NKEY SEED------");
    assert_non_null(strstr(h.body, "IMPORTANT"));

    /* The user JWT: named host-id, issued by the account the mock wrote out, with the agent's permissions. */
    const char *jwt = lines[1], *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    assert_non_null(d2);
    uint8_t *claims_text = unb64url(d1 + 1, (size_t)(d2 - d1 - 1), &len);
    cJSON *claims = cJSON_ParseWithLength((const char *)claims_text, len), *nats_claims;
    free(claims_text);
    assert_non_null(claims);
    assert_string_equal(json_str(claims, "name"), HOST_ID);
    char *account_pub_path = NULL;
    assert_int_equal(harness_path_join(mock->nats_dir, "account.pub", &account_pub_path), 0);
    assert_int_equal(fx_file_read(account_pub_path, (uint8_t **)&account_pub, &len), 0);
    assert_string_equal(json_str(claims, "iss"), account_pub);
    nats_claims = cJSON_GetObjectItemCaseSensitive(claims, "nats");
    char *perms = cJSON_PrintUnformatted(nats_claims);
    print_message("  user claims: %s\n", perms);
    assert_non_null(strstr(perms, "\"trust-agent." HOST_ID ".>\""));
    assert_non_null(strstr(perms, "\"deny\":[\">\"]"));
    assert_non_null(strstr(perms, "\"max\":1"));
    free(perms);
    cJSON_Delete(claims);

    /* Bad host id, bad type. */
    struct http bad =
        aas_do(mock, "/aas/v1/credentials", "{\"type\":\"TA\",\"parameters\":{\"host-id\":\"a b\"}}");
    assert_int_equal(bad.status, 400);
    http_free(&bad);
    bad = aas_do(mock, "/aas/v1/credentials",
                 "{\"type\":\"WLA\",\"parameters\":{\"host-id\":\"" HOST_ID "\"}}");
    assert_int_equal(bad.status, 400);
    http_free(&bad);

    /* nats-server in operator mode, configured from the mock's deployment, takes the agent and HVS in; the
     * agent answers HVS's request on its subject. */
    assert_non_null(mock->nats_auth_conf);
    assert_int_equal(natsd_start_operator(mock->nats_auth_conf, &nats), 0);
    creds_path = fx_file_write(&fx, "agent.creds", h.body, h.len);
    assert_non_null(creds_path);
    assert_int_equal(harness_path_join(mock->nats_dir, "hvs.creds", &hvs_creds), 0);
    assert_int_equal(natsd_client_options(nats, creds_path, &agent_opts), 0);
    assert_int_equal(natsd_client_options(nats, hvs_creds, &hvs_opts), 0);
    natsStatus s = natsConnection_Connect(&agent, agent_opts);
    if (s != NATS_OK)
        fail_msg("agent connect: %s %s", natsStatus_GetText(s), nats_GetLastError(NULL));
    s = natsConnection_Connect(&hvs, hvs_opts);
    if (s != NATS_OK)
        fail_msg("HVS connect: %s %s", natsStatus_GetText(s), nats_GetLastError(NULL));
    assert_int_equal(natsConnection_Subscribe(&sub, agent, "trust-agent." HOST_ID ".quote-request",
                                              on_quote_request, NULL),
                     NATS_OK);
    assert_int_equal(natsConnection_Flush(agent), NATS_OK);
    s = natsConnection_RequestString(&reply, hvs, "trust-agent." HOST_ID ".quote-request", "{}", 5000);
    if (s != NATS_OK)
        fail_msg("request: %s %s", natsStatus_GetText(s), nats_GetLastError(NULL));
    assert_string_equal(natsMsg_GetData(reply), "quote-reply");

    natsMsg_Destroy(reply);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(agent);
    natsConnection_Destroy(hvs);
    natsOptions_Destroy(agent_opts);
    natsOptions_Destroy(hvs_opts);
    natsd_free(nats);
    free(creds_path);
    free(hvs_creds);
    free(account_pub);
    free(account_pub_path);
    free(copy);
    http_free(&h);
}

static void expect_status(long want, const char *what)
{
    char auth[4096];
    struct http h;

    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", mock->bearer);
    h = ca_download(mock);
    if (h.status != want)
        fail_msg("%s: CMS CA download %ld, want %ld", what, h.status, want);
    http_free(&h);
    h = hvs_do(mock, "GET", "/hvs/v2/hosts", NULL);
    if (h.status != want)
        fail_msg("%s: HVS hosts %ld, want %ld", what, h.status, want);
    http_free(&h);
    h = aas_do(mock, "/aas/v1/custom-claims-token",
               "{\"subject\":\"" HW_UUID
               "\",\"validity_seconds\":60,\"claims\":{\"permissions\":[{\"service\":"
               "\"HVS\",\"rules\":[\"a:b\"]}]}}");
    if (h.status != want)
        fail_msg("%s: AAS token %ld, want %ld", what, h.status, want);
    http_free(&h);
}

static void test_faults_at_run_time(void **state)
{
    char hex[97];
    bool chain_ok = false;
    struct http h;
    BIO *bio;
    X509 *x;
    cJSON *json;
    int before;

    /* unauthorized / server-error: every service path, whatever the token. */
    before = mockcp_request_count(mock, "GET /cms/v1/ca-certificates 401");
    assert_int_equal(mockcp_fault(mock, "unauthorized", NULL), 0);
    expect_status(401, "unauthorized");
    assert_int_equal(mockcp_request_count(mock, "GET /cms/v1/ca-certificates 401"), before + 1);
    assert_int_equal(mockcp_fault(mock, "server-error", "unauthorized"), 0);
    expect_status(500, "server-error");
    assert_int_equal(mockcp_fault(mock, NULL, "server-error"), 0);
    expect_status(200, "no fault");

    /* slow: 3 s before each answer; the control endpoint is not slowed. */
    assert_int_equal(mockcp_fault(mock, "slow", NULL), 0);
    h = ca_download(mock);
    assert_int_equal(h.status, 200);
    print_message("  slow: %.2f s\n", h.seconds);
    assert_true(h.seconds >= 2.9);
    http_free(&h);
    time_t t0 = time(NULL);
    assert_int_equal(mockcp_fault(mock, NULL, "slow"), 0);
    assert_true(time(NULL) - t0 <= 1);

    /* malformed-json: 200, but no JSON parser takes the body. */
    assert_int_equal(mockcp_fault(mock, "malformed-json", NULL), 0);
    h = hvs_do(mock, "GET", "/hvs/v2/ca-certificates/aik", NULL);
    assert_int_equal(h.status, 200);
    assert_string_equal(h.type, "application/json");
    json = parse_strict(h.body);
    assert_null(json);
    http_free(&h);
    h = hvs_do(mock, "GET", "/hvs/v2/hosts", NULL);
    assert_int_equal(h.status, 200);
    assert_null(parse_strict(h.body));
    http_free(&h);
    assert_int_equal(mockcp_fault(mock, NULL, "malformed-json"), 0);

    /* truncated-pem: 200, a BEGIN line, no certificate. */
    assert_int_equal(mockcp_fault(mock, "truncated-pem", NULL), 0);
    h = ca_download(mock);
    assert_int_equal(h.status, 200);
    assert_true(strncmp(h.body, "-----BEGIN CERTIFICATE-----\n", 28) == 0);
    assert_null(strstr(h.body, "-----END"));
    bio = BIO_new_mem_buf(h.body, (int)h.len);
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    ERR_clear_error();
    assert_null(x);
    BIO_free(bio);
    http_free(&h);
    assert_int_equal(mockcp_fault(mock, NULL, "truncated-pem"), 0);

    /* wrong-cms-cert: a leaf the CA issued (TLS verification passes) but not the advertised one. */
    assert_int_equal(mockcp_fault(mock, "wrong-cms-cert", NULL), 0);
    tls_leaf_sha384(mock, hex, &chain_ok);
    assert_string_not_equal(hex, mock->tls_sha384);
    assert_true(chain_ok);
    h = ca_download(mock);
    assert_int_equal(h.status, 200);
    http_free(&h);
    assert_int_equal(mockcp_fault(mock, NULL, "wrong-cms-cert"), 0);
    tls_leaf_sha384(mock, hex, NULL);
    assert_string_equal(hex, mock->tls_sha384);

    /* Unknown names are refused; "all" clears everything. */
    assert_true(mockcp_fault(mock, "no-such-fault", NULL) < 0);
    assert_int_equal(mockcp_fault(mock, "slow,unauthorized", NULL), 0);
    assert_int_equal(mockcp_fault(mock, NULL, "all"), 0);
    expect_status(200, "cleared");
}

static void test_start_options_restart_stop(void **state)
{
    char *dir = NULL, *ek_path = fx_file_write(&fx, "ek.der", ek_der, ek_der_len), hex[97], first_sha[97];
    const char *ek_certs[] = {ek_path, NULL};
    const char *faults[] = {"wrong-cms-cert", "unauthorized", NULL};
    mockcp_t *m2 = NULL;
    struct http h;
    uint16_t port;
    char *payload;

    load_privacy_ca();
    assert_int_equal(harness_tmpdir_create("mockcp2", &dir), 0);
    /* No EK CA: the EK is trusted because it is registered. Another token. Faults from the start. */
    const struct mockcp_opts opts = {.dir = dir,
                                     .bearer = "another-token",
                                     .ek_certs = ek_certs,
                                     .faults = faults,
                                     .aik_validity_years = 3};
    assert_int_equal(mockcp_start(&opts, &m2), 0);
    tls_leaf_sha384(m2, hex, NULL);
    assert_string_not_equal(hex, m2->tls_sha384);
    h = ca_download(m2);
    assert_int_equal(h.status, 401);
    http_free(&h);
    assert_int_equal(mockcp_fault(m2, NULL, "unauthorized"), 0);
    h = hvs_do(m2, "GET", "/hvs/v2/hosts", NULL);
    assert_int_equal(h.status, 200);
    http_free(&h);
    const char *group_token[] = {"Authorization: Bearer " MOCKCP_DEFAULT_BEARER, "Accept: application/json",
                                 NULL};
    h = http_do(m2, "GET", "/hvs/v2/hosts", group_token, NULL);
    assert_int_equal(h.status, 401);
    http_free(&h);

    /* A registered EK passes without any EK CA (its own Privacy CA wraps this time). */
    EVP_PKEY *group_privacy = privacy_pub;
    X509 *group_privacy_cert = privacy_cert;
    privacy_pub = NULL;
    privacy_cert = NULL;
    mockcp_t *group = mock;
    mock = m2;
    load_privacy_ca();
    payload = identity_payload(ek_der, ek_der_len, NULL);
    h = hvs_do(m2, "POST", "/hvs/v2/privacyca/identity-challenge-request", payload);
    mock = group;
    EVP_PKEY_free(privacy_pub);
    X509_free(privacy_cert);
    privacy_pub = group_privacy;
    privacy_cert = group_privacy_cert;
    if (h.status != 200)
        fail_msg("registered EK: %ld %s", h.status, h.body);
    http_free(&h);
    free(payload);

    /* Restart: same port, same PKI (the pin still names the same leaf), start faults again. */
    port = m2->port;
    snprintf(first_sha, sizeof(first_sha), "%s", m2->tls_sha384);
    assert_int_equal(mockcp_restart(m2), 0);
    assert_int_equal(m2->port, port);
    assert_string_equal(m2->tls_sha384, first_sha);
    h = ca_download(m2);
    assert_int_equal(h.status, 401);
    http_free(&h);

    /* SIGTERM: clean exit, and the port is free again. */
    pid_t pid = m2->pid;
    assert_int_equal(mockcp_stop(m2), 0);
    assert_int_equal(m2->pid, 0);
    assert_int_equal(kill(pid, 0) < 0 && errno == ESRCH, 1);
    int fd = -1;
    assert_true(harness_tcp_connect(port, &fd) < 0);

    mockcp_free(m2);
    harness_tmpdir_remove(dir);
    free(dir);
    free(ek_path);
}

static void test_request_log(void **state)
{
    /* Everything the tests above did is in the log, with its status. */
    assert_true(mockcp_request_count(mock, "POST /hvs/v2/privacyca/identity-challenge-request 200") >= 1);
    assert_true(mockcp_request_count(mock, "POST /hvs/v2/privacyca/identity-challenge-response 200") >= 1);
    assert_true(mockcp_request_count(mock, "POST /cms/v1/certificates?certType=tls 200") >= 1);
    assert_true(mockcp_request_count(mock, "GET /hvs/v2/hosts?nameEqualTo=" HOST_ID " 200") >= 1);
    assert_true(mockcp_request_count(mock, "POST /aas/v1/credentials 201") >= 1);
    assert_true(mockcp_request_count(mock, "POST /mock/faults?set=slow 200") >= 1);
    assert_int_equal(mockcp_request_count(mock, "DELETE "), 0);
}

int main(void)
{
    const char *filter = getenv("MOCK_CP_FILTER");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ready_line_and_tls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cms_signs_csr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_privacy_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity_challenge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity_challenge_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hosts_flavors_manifests_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aas_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_install_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aas_credentials_for_nats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faults_at_run_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_options_restart_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_log, setup, teardown),
    };
    int failed;

    if (filter)
        cmocka_set_test_filter(filter);
    failed = cmocka_run_group_tests_name("mock_cp", tests, group_setup, group_teardown);
    harness_nats_close();
    return failed;
}
