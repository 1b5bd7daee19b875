/*
 * A small update agent written in C over the hpk C API (ffi/include/hpk.h).
 * ffi/tests/c_abi.rs builds its fixtures, compiles it against libhpk, and
 * runs it twice: as it is, and under valgrind.
 *
 * usage: agent DIR NOW
 *
 * DIR holds root.hpkroot, root-v2.hpkroot, device.toml, catalog.hpkcat,
 * baseline.hpk, tampered.hpk, arm64.hpk, delta.hpk (the next baseline, a
 * delta of baseline.hpk), next/ (its files), no-bases/ (empty) and
 * delta-catalog.hpkcat (the next baseline in full and as delta.hpk); NOW
 * is the trusted current time (seconds since the Unix epoch).
 *
 * The agent does what an agent does: load the trust root and the device
 * state, rotate to the next root, verify a package at full depth, verify
 * the catalog and plan from it, open the planned package for its catalog
 * entry, extract it into DIR/staged, record it as installed, save the
 * device state, and plan again from the saved state. Then it extracts the
 * delta package, rebuilt from the files the baseline left in DIR/staged,
 * and checks that without those files it is refused (missing-base), and
 * plans it from delta-catalog.hpkcat, extracts it and records it as the
 * full package its catalog entry names. Then
 * the failure paths: a tampered package, a package for another
 * architecture, a package for the wrong catalog entry, misuse and NULL
 * arguments.
 *
 * It prints one line per check and exits 0 only when every outcome is the
 * expected one; every handle and error is freed (valgrind checks it).
 */
#include "hpk.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_LEN 4096

static int failures = 0;

static void fail(const char *what, const char *detail) {
    printf("FAIL %s: %s\n", what, detail);
    failures++;
}

/*
 * Checks that a call returned `expected` and, when `reason` is not NULL,
 * that its error gives that reason. Prints the outcome, frees *err and
 * sets it to NULL. Returns whether the outcome was the expected one.
 */
static int check_reason(const char *what, hpk_status got, hpk_status expected,
                        const char *reason, hpk_error **err) {
    int ok = got == expected;
    const char *got_reason = hpk_error_reason(*err);
    if ((got == HPK_OK) != (*err == NULL)) {
        ok = 0;
    }
    if (reason != NULL && (got_reason == NULL || strcmp(got_reason, reason) != 0)) {
        ok = 0;
    }
    printf("%s %s: %s", ok ? "ok  " : "FAIL", what, hpk_status_name((int)got));
    if (!ok) {
        printf(" (expected %s%s%s%s)", hpk_status_name((int)expected), reason ? " [" : "",
               reason ? reason : "", reason ? "]" : "");
        failures++;
    }
    if (got_reason != NULL) {
        printf(" [%s]", got_reason);
    }
    if (*err != NULL) {
        printf(": %s", hpk_error_message(*err));
    }
    printf("\n");
    hpk_error_free(*err);
    *err = NULL;
    return ok;
}

static int check(const char *what, hpk_status got, hpk_status expected, hpk_error **err) {
    return check_reason(what, got, expected, NULL, err);
}

static void check_text(const char *what, const char *got, const char *expected) {
    if (got == NULL || strcmp(got, expected) != 0) {
        printf("FAIL %s: \"%s\", expected \"%s\"\n", what, got ? got : "(null)", expected);
        failures++;
    } else {
        printf("ok   %s: %s\n", what, got);
    }
}

static void check_number(const char *what, uint64_t got, uint64_t expected) {
    if (got != expected) {
        printf("FAIL %s: %" PRIu64 ", expected %" PRIu64 "\n", what, got, expected);
        failures++;
    } else {
        printf("ok   %s: %" PRIu64 "\n", what, got);
    }
}

static const char *in_dir(char *buf, const char *dir, const char *name) {
    snprintf(buf, PATH_LEN, "%s/%s", dir, name);
    return buf;
}

/* The bytes of the file at `path` (freed by the caller) and their count; NULL if unreadable. */
static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            size_t next = cap == 0 ? 65536 : cap * 2;
            unsigned char *grown = realloc(buf, next);
            if (grown == NULL) {
                break;
            }
            buf = grown;
            cap = next;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    /* A short read (error or no memory) is no file: the caller must not compare a part. */
    int whole = n < cap && !ferror(f) && feof(f);
    fclose(f);
    if (!whole) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static void check_same_file(const char *what, const char *got_path, const char *expected_path) {
    size_t got_len = 0, expected_len = 0;
    unsigned char *got = read_file(got_path, &got_len);
    unsigned char *expected = read_file(expected_path, &expected_len);
    if (got == NULL) {
        fail(what, got_path);
    } else if (expected == NULL) {
        fail(what, expected_path);
    } else if (got_len != expected_len || memcmp(got, expected, got_len) != 0) {
        fail(what, "the bytes differ");
    } else {
        printf("ok   %s: %zu bytes\n", what, got_len);
    }
    free(got);
    free(expected);
}

static int exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f != NULL) {
        fclose(f);
    }
    return f != NULL;
}

/*
 * The delta package: the next baseline, stored as differences from the
 * files of baseline.hpk. The device's files are the baseline extracted
 * into `bases` (DIR/staged).
 */
static void delta_package(const hpk_verifier *verifier, const hpk_device *device,
                          const char *device_path, const char *dir, const char *bases) {
    char delta_path[PATH_LEN], no_bases[PATH_LEN], next[PATH_LEN], staged[PATH_LEN];
    char refused[PATH_LEN], refused_file[PATH_LEN], got[PATH_LEN], expected[PATH_LEN];
    in_dir(delta_path, dir, "delta.hpk");
    in_dir(no_bases, dir, "no-bases");
    in_dir(next, dir, "next");
    in_dir(staged, dir, "staged-delta");
    in_dir(refused, dir, "staged-delta-refused");
    in_dir(refused_file, refused, "System32/hal.dll");
    hpk_error *err = NULL;
    hpk_package *package = NULL;

    /* Signatures and stored bytes need no base. */
    if (check("open the delta package",
              hpk_verifier_open(verifier, delta_path, device, &package, &err), HPK_OK, &err)) {
        check_number("the delta package needs bases", (uint64_t)hpk_package_needs_bases(package),
                     1);
        check("verify it at stored depth without bases",
              hpk_package_verify(package, HPK_DEPTH_STORED, &err), HPK_OK, &err);
        hpk_package_free(package);
        package = NULL;
    }
    if (check("open the delta package",
              hpk_verifier_open(verifier, delta_path, device, &package, &err), HPK_OK, &err)) {
        check_reason("verify it at full depth without bases",
                     hpk_package_verify(package, HPK_DEPTH_FULL, &err), HPK_POLICY,
                     "missing-base", &err);
        hpk_package_free(package);
        package = NULL;
    }

    /* Without the device's files: refused, nothing extracted. */
    const char *wrong[] = {NULL, no_bases, next};
    const char *what[] = {"extract it without a base folder", "extract it with an empty base folder",
                          "extract it with other files as bases"};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        if (!check("open the delta package",
                   hpk_verifier_open(verifier, delta_path, device, &package, &err), HPK_OK, &err)) {
            continue;
        }
        if (wrong[i] != NULL) {
            check("give it a base folder", hpk_package_set_base_dir(package, wrong[i], &err),
                  HPK_OK, &err);
        }
        check_reason(what[i], hpk_package_extract(package, refused, &err), HPK_POLICY,
                     "missing-base", &err);
        hpk_package_free(package);
        package = NULL;
    }
    if (exists(refused) || exists(refused_file)) {
        fail("refused delta extractions", "something was extracted");
    } else {
        printf("ok   refused delta extractions: nothing extracted\n");
    }

    /* With them: rebuilt, byte for byte. */
    if (check("open the delta package",
              hpk_verifier_open(verifier, delta_path, device, &package, &err), HPK_OK, &err)) {
        check("give it the device's files", hpk_package_set_base_dir(package, bases, &err),
              HPK_OK, &err);
        check("verify it at full depth", hpk_package_verify(package, HPK_DEPTH_FULL, &err),
              HPK_OK, &err);
        hpk_package_free(package);
        package = NULL;
    }
    if (check("open the delta package",
              hpk_verifier_open(verifier, delta_path, device, &package, &err), HPK_OK, &err)) {
        check("give it the device's files", hpk_package_set_base_dir(package, bases, &err),
              HPK_OK, &err);
        if (check("extract it", hpk_package_extract(package, staged, &err), HPK_OK, &err)) {
            printf("     extracted %s %s (%s), %zu payloads, rebuilt from the files in %s\n",
                   hpk_package_name(package), hpk_package_version(package),
                   hpk_package_kind(package), hpk_package_payload_count(package), bases);
        }
        check("give it a base folder once extracted",
              hpk_package_set_base_dir(package, bases, &err), HPK_INVALID_ARGUMENT, &err);
        hpk_package_free(package);
        package = NULL;
    }
    /* Opened on its own, a delta package cannot be recorded: the device
     * records the full package its catalog entry names. */
    if (check("open the delta package",
              hpk_verifier_open(verifier, delta_path, device, &package, &err), HPK_OK, &err)) {
        check("give it the device's files", hpk_package_set_base_dir(package, bases, &err),
              HPK_OK, &err);
        check("verify it at full depth", hpk_package_verify(package, HPK_DEPTH_FULL, &err),
              HPK_OK, &err);
        hpk_device *copy = NULL;
        if (check("load the device", hpk_device_load(device_path, &copy, &err), HPK_OK, &err)) {
            check("record a delta package opened without its catalog entry",
                  hpk_device_record_installed(copy, package, &err), HPK_INVALID_ARGUMENT, &err);
        }
        hpk_device_free(copy);
        hpk_package_free(package);
        package = NULL;
    }
    check_same_file("the rebuilt kernel (delta chunks) is the next baseline's",
                    in_dir(got, staged, "System32/ntoskrnl.exe"),
                    in_dir(expected, next, "System32/ntoskrnl.exe"));
    check_same_file("the unchanged HAL is the next baseline's",
                    in_dir(got, staged, "System32/hal.dll"),
                    in_dir(expected, next, "System32/hal.dll"));
}

static int finish(void) {
    if (failures > 0) {
        printf("agent: %d unexpected outcome(s)\n", failures);
        return 1;
    }
    printf("agent: every outcome as expected\n");
    return 0;
}

/* Plans from the catalog for `device`; prints the plan and its steps. */
static hpk_plan *plan_for(const hpk_verifier *verifier, const char *catalog_path,
                          const hpk_device *device) {
    hpk_error *err = NULL;
    hpk_catalog *catalog = NULL;
    hpk_plan *plan = NULL;
    if (check("verify the catalog",
              hpk_verifier_catalog(verifier, catalog_path, device, &catalog, &err), HPK_OK,
              &err)) {
        printf("     catalog version %" PRIu64 ", %zu entries\n", hpk_catalog_version(catalog),
               hpk_catalog_entry_count(catalog));
        check("plan", hpk_verifier_plan(verifier, catalog, device, &plan, &err), HPK_OK, &err);
    }
    hpk_catalog_free(catalog);
    if (plan != NULL) {
        printf("     plan: %s, %s track, %zu step(s)\n", hpk_plan_status(plan),
               hpk_plan_track(plan), hpk_plan_step_count(plan));
        for (size_t i = 0; i < hpk_plan_step_count(plan); i++) {
            hpk_plan_step step;
            if (check("read a step", hpk_plan_get_step(plan, i, &step, &err), HPK_OK, &err)) {
                printf("     step %zu: %s %s (%s) at %s, %" PRIu64 " bytes, manifest %s%s\n", i,
                       step.name, step.version, step.kind, step.location, step.size,
                       step.manifest_digest, step.restart ? ", then restart" : "");
            }
        }
    }
    return plan;
}

/*
 * The delta package as a plan step: DIR/delta-catalog.hpkcat offers the
 * next baseline in full and as a delta of the installed one. The plan
 * takes the delta; once extracted from the device's files, the device
 * records it as the full package its entry names.
 */
static void delta_step(const hpk_verifier *verifier, const char *device_path, const char *dir,
                       const char *bases) {
    char catalog_path[PATH_LEN], delta_path[PATH_LEN], out[PATH_LEN];
    in_dir(catalog_path, dir, "delta-catalog.hpkcat");
    in_dir(delta_path, dir, "delta.hpk");
    in_dir(out, dir, "staged-step");
    hpk_error *err = NULL;
    hpk_device *device = NULL;
    hpk_package *package = NULL;
    if (!check("load the device", hpk_device_load(device_path, &device, &err), HPK_OK, &err)) {
        return;
    }
    hpk_plan *plan = plan_for(verifier, catalog_path, device);
    if (plan != NULL && hpk_plan_step_count(plan) == 1 &&
        check("open the planned delta package",
              hpk_verifier_open_step(verifier, plan, 0, delta_path, device, &package, &err),
              HPK_OK, &err)) {
        check("give it the device's files", hpk_package_set_base_dir(package, bases, &err),
              HPK_OK, &err);
        check("extract it", hpk_package_extract(package, out, &err), HPK_OK, &err);
        check("record it as its full package", hpk_device_record_installed(device, package, &err),
              HPK_OK, &err);
        char *toml = NULL;
        if (check("device as TOML", hpk_device_to_toml(device, &toml, &err), HPK_OK, &err)) {
            printf("     --- device.toml after the delta\n%s     ---\n", toml);
        }
        hpk_string_free(toml);
        hpk_package_free(package);
    } else {
        fail("plan from the delta catalog", "not one step");
    }
    hpk_plan_free(plan);
    hpk_device_free(device);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: agent DIR NOW\n");
        return 2;
    }
    const char *dir = argv[1];
    const hpk_clock clock = {HPK_CLOCK_TRUSTED, strtoull(argv[2], NULL, 10)};
    char root_path[PATH_LEN], root_v2_path[PATH_LEN], device_path[PATH_LEN];
    char catalog_path[PATH_LEN], baseline_path[PATH_LEN], tampered_path[PATH_LEN];
    char arm64_path[PATH_LEN], staged_path[PATH_LEN], step_path[PATH_LEN];
    char missing_path[PATH_LEN], digest[65] = "";
    in_dir(root_path, dir, "root.hpkroot");
    in_dir(root_v2_path, dir, "root-v2.hpkroot");
    in_dir(device_path, dir, "device.toml");
    in_dir(catalog_path, dir, "catalog.hpkcat");
    in_dir(baseline_path, dir, "baseline.hpk");
    in_dir(tampered_path, dir, "tampered.hpk");
    in_dir(arm64_path, dir, "arm64.hpk");
    in_dir(staged_path, dir, "staged");
    in_dir(missing_path, dir, "missing/device.toml");
    printf("hpk %s\n", hpk_version());

    hpk_error *err = NULL;
    hpk_root *root = NULL;
    hpk_verifier *verifier = NULL;
    hpk_device *device = NULL;
    hpk_package *package = NULL;
    hpk_plan *plan = NULL;

    /* The trust root, the verifier, the device. */
    if (!check("load the trust root", hpk_root_load(root_path, clock, &root, &err), HPK_OK, &err) ||
        !check("make a verifier", hpk_verifier_new(root, clock, &verifier, &err), HPK_OK, &err) ||
        !check("load the device", hpk_device_load(device_path, &device, &err), HPK_OK, &err)) {
        hpk_root_free(root);
        hpk_verifier_free(verifier);
        return finish();
    }
    check_number("trust root version", hpk_root_version(root), 1);
    hpk_root_free(root); /* the verifier holds its own copy */

    /* Rotation: to version 2, then again (no version 3), then a missing file. */
    const char *chain[] = {root_v2_path};
    const char *missing_chain[] = {missing_path};
    check("rotate to the next trust root", hpk_verifier_rotate(verifier, chain, 1, &err), HPK_OK,
          &err);
    check_reason("rotate to the same root again",
                 hpk_verifier_rotate(verifier, chain, 1, &err), HPK_POLICY, "wrong-version",
                 &err);
    check("rotate to a missing file", hpk_verifier_rotate(verifier, missing_chain, 1, &err),
          HPK_IO, &err);
    check_number("trust root version after rotation", hpk_verifier_root_version(verifier), 2);

    /* Verify a package at full depth. */
    if (check("open the baseline",
              hpk_verifier_open(verifier, baseline_path, device, &package, &err), HPK_OK, &err)) {
        check("verify the baseline at full depth",
              hpk_package_verify(package, HPK_DEPTH_FULL, &err), HPK_OK, &err);
        printf("     verified %s %s (%s), manifest %s, %zu payloads, security version %" PRIu64
               "\n",
               hpk_package_name(package), hpk_package_version(package), hpk_package_kind(package),
               hpk_package_digest(package), hpk_package_payload_count(package),
               hpk_package_security_version(package));
        snprintf(digest, sizeof digest, "%s", hpk_package_digest(package));
        check("verify it twice", hpk_package_verify(package, HPK_DEPTH_FULL, &err),
              HPK_INVALID_ARGUMENT, &err);
        hpk_package_free(package);
        package = NULL;
    }

    /* Plan from the catalog, and record the catalog. */
    plan = plan_for(verifier, catalog_path, device);
    if (plan == NULL || hpk_plan_step_count(plan) != 1) {
        fail("plan", "expected one step");
        hpk_plan_free(plan);
        hpk_verifier_free(verifier);
        hpk_device_free(device);
        return finish();
    }
    check_text("plan status", hpk_plan_status(plan), "update");
    check_text("plan track", hpk_plan_track(plan), "hotpatch");
    hpk_plan_step step;
    check("read step 0", hpk_plan_get_step(plan, 0, &step, &err), HPK_OK, &err);
    check_text("step 0 is the verified baseline", step.manifest_digest, digest);
    check("read step 1 of 1", hpk_plan_get_step(plan, 1, &step, &err), HPK_INVALID_ARGUMENT,
          &err);
    {
        hpk_catalog *catalog = NULL;
        check("verify the catalog again",
              hpk_verifier_catalog(verifier, catalog_path, device, &catalog, &err), HPK_OK, &err);
        check("record the catalog", hpk_device_record_catalog(device, catalog, &err), HPK_OK,
              &err);
        hpk_catalog_free(catalog);
    }

    /* Fetch (here: find) the planned package, extract it, record it, save. */
    check("read step 0", hpk_plan_get_step(plan, 0, &step, &err), HPK_OK, &err);
    in_dir(step_path, dir, step.location);
    check("open another package for the entry (mix and match)",
          hpk_verifier_open_step(verifier, plan, 0, arm64_path, device, &package, &err),
          HPK_INTEGRITY, &err);
    if (check("open a tampered copy for the entry",
              hpk_verifier_open_step(verifier, plan, 0, tampered_path, device, &package, &err),
              HPK_OK, &err)) {
        char tampered_staged[PATH_LEN];
        check("extract the tampered copy",
              hpk_package_extract(package, in_dir(tampered_staged, dir, "staged-tampered"), &err),
              HPK_INTEGRITY, &err);
        hpk_package_free(package);
        package = NULL;
    }
    if (check("open the planned package for its catalog entry",
              hpk_verifier_open_step(verifier, plan, 0, step_path, device, &package, &err),
              HPK_OK, &err)) {
        check("record it before it is extracted",
              hpk_device_record_installed(device, package, &err), HPK_INVALID_ARGUMENT, &err);
        check("extract it", hpk_package_extract(package, staged_path, &err), HPK_OK, &err);
        check("record it as installed", hpk_device_record_installed(device, package, &err),
              HPK_OK, &err);
        hpk_package_free(package);
        package = NULL;
    }
    if (check("open the baseline again",
              hpk_verifier_open(verifier, baseline_path, device, &package, &err), HPK_OK, &err)) {
        check("extract it over the extracted files",
              hpk_package_extract(package, staged_path, &err), HPK_IO, &err);
        hpk_package_free(package);
        package = NULL;
    }
    check("save the device", hpk_device_save(device, device_path, &err), HPK_OK, &err);
    check("save the device into a missing folder", hpk_device_save(device, missing_path, &err),
          HPK_IO, &err);
    {
        char *toml = NULL;
        if (check("device as TOML", hpk_device_to_toml(device, &toml, &err), HPK_OK, &err)) {
            printf("     --- device.toml\n%s     ---\n", toml);
        }
        hpk_string_free(toml);
    }
    hpk_plan_free(plan);
    hpk_device_free(device);
    device = NULL;

    /* The saved state, read back: nothing more to install. */
    if (check("load the saved device", hpk_device_load(device_path, &device, &err), HPK_OK,
              &err)) {
        plan = plan_for(verifier, catalog_path, device);
        check_text("plan status after install", hpk_plan_status(plan), "up-to-date");
        check_number("steps after install", hpk_plan_step_count(plan), 0);
        hpk_plan_free(plan);
        plan = NULL;
    }

    delta_package(verifier, device, device_path, dir, staged_path);
    delta_step(verifier, device_path, dir, staged_path);

    /* A tampered payload: the head is authentic, the bytes are not. */
    if (check("open the tampered package",
              hpk_verifier_open(verifier, tampered_path, device, &package, &err), HPK_OK, &err)) {
        hpk_status got = hpk_package_verify(package, HPK_DEPTH_FULL, &err);
        check("verify the tampered package at full depth", got,
              got == HPK_SIGNATURE ? HPK_SIGNATURE : HPK_INTEGRITY, &err);
        hpk_package_free(package);
        package = NULL;
    }

    /* Authentic, but for arm64. */
    check_reason("open a package for another architecture",
                 hpk_verifier_open(verifier, arm64_path, device, &package, &err), HPK_POLICY,
                 "wrong-architecture", &err);
    if (package != NULL) {
        fail("open a package for another architecture", "*out is not NULL");
    }
    /* For no device in particular, it is authentic and whole. */
    if (check("open it for no device", hpk_verifier_open(verifier, arm64_path, NULL, &package, &err),
              HPK_OK, &err)) {
        check("verify it at header depth", hpk_package_verify(package, HPK_DEPTH_HEADER, &err),
              HPK_OK, &err);
        hpk_package_free(package);
        package = NULL;
    }

    /* Not a device profile. */
    {
        hpk_device *other = NULL;
        check("load a package as a device profile", hpk_device_load(baseline_path, &other, &err),
              HPK_MALFORMED, &err);
        hpk_device_free(other);
    }

    /* Misuse and NULL arguments. */
    {
        hpk_root *r = NULL;
        hpk_package *p = NULL;
        hpk_clock zero = {0, 0};
        check("load a root from NULL", hpk_root_load(NULL, clock, &r, &err),
              HPK_INVALID_ARGUMENT, &err);
        check("load a root into NULL", hpk_root_load(root_path, clock, NULL, &err),
              HPK_INVALID_ARGUMENT, &err);
        check("load a root with a zeroed clock", hpk_root_load(root_path, zero, &r, &err),
              HPK_INVALID_ARGUMENT, &err);
        check("load a missing root", hpk_root_load(missing_path, clock, &r, &err), HPK_IO, &err);
        check("open with a NULL verifier", hpk_verifier_open(NULL, baseline_path, NULL, &p, &err),
              HPK_INVALID_ARGUMENT, &err);
        check("open a NULL path", hpk_verifier_open(verifier, NULL, NULL, &p, &err),
              HPK_INVALID_ARGUMENT, &err);
        check("open a non-UTF-8 path", hpk_verifier_open(verifier, "\xff.hpk", NULL, &p, &err),
              HPK_INVALID_ARGUMENT, &err);
        check("verify NULL", hpk_package_verify(NULL, HPK_DEPTH_FULL, &err), HPK_INVALID_ARGUMENT,
              &err);
        check("give NULL a base folder", hpk_package_set_base_dir(NULL, dir, &err),
              HPK_INVALID_ARGUMENT, &err);
        check_number("NULL needs no bases", (uint64_t)hpk_package_needs_bases(NULL), 0);
        hpk_plan *no_plan = NULL;
        hpk_catalog *no_catalog = NULL;
        check("plan from a NULL catalog", hpk_verifier_plan(verifier, NULL, NULL, &no_plan, &err),
              HPK_INVALID_ARGUMENT, &err);
        check("plan into NULL", hpk_verifier_plan(verifier, NULL, NULL, NULL, &err),
              HPK_INVALID_ARGUMENT, &err);
        check("verify a catalog for no device",
              hpk_verifier_catalog(verifier, catalog_path, NULL, &no_catalog, &err),
              HPK_INVALID_ARGUMENT, &err);
        if (no_plan != NULL || no_catalog != NULL) {
            fail("failed calls", "*out is not NULL");
        }
        check("record into NULL", hpk_device_record_installed(NULL, NULL, &err),
              HPK_INVALID_ARGUMENT, &err);
        check("rotate with NULL paths", hpk_verifier_rotate(verifier, NULL, 2, &err),
              HPK_INVALID_ARGUMENT, &err);
        if (check("open the baseline", hpk_verifier_open(verifier, baseline_path, NULL, &p, &err),
                  HPK_OK, &err)) {
            check_number("the baseline needs no bases", (uint64_t)hpk_package_needs_bases(p), 0);
            check("give a NULL base folder", hpk_package_set_base_dir(p, NULL, &err),
                  HPK_INVALID_ARGUMENT, &err);
            check("give an empty base folder path", hpk_package_set_base_dir(p, "", &err),
                  HPK_INVALID_ARGUMENT, &err);
            check("verify to depth 0", hpk_package_verify(p, 0, &err), HPK_INVALID_ARGUMENT,
                  &err);
            check("verify at full depth after", hpk_package_verify(p, HPK_DEPTH_FULL, &err),
                  HPK_OK, &err);
            hpk_package_free(p);
        }
        /* Without an error out-parameter, the status alone. */
        if (hpk_root_load(NULL, clock, &r, NULL) != HPK_INVALID_ARGUMENT || r != NULL) {
            fail("load a root from NULL without err", "not HPK_INVALID_ARGUMENT");
        } else {
            printf("ok   load a root from NULL without err\n");
        }
        check_text("the message of no error", hpk_error_message(NULL) ? "set" : "NULL", "NULL");
        hpk_root_free(NULL);
        hpk_verifier_free(NULL);
        hpk_device_free(NULL);
        hpk_package_free(NULL);
        hpk_catalog_free(NULL);
        hpk_plan_free(NULL);
        hpk_error_free(NULL);
        hpk_string_free(NULL);
    }

    hpk_verifier_free(verifier);
    hpk_device_free(device);
    return finish();
}
