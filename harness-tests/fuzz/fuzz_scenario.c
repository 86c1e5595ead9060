/* Scenario text through the tree-to-model layer (sc_load_text: the same checks and
 * messages as sc_load). A rejected scenario must say why; an accepted one must hold a
 * name and devices. Rule files (lba_file) are looked for in an empty directory.
 * Debian's libyaml is not instrumented: the fuzzer sees no coverage inside libyaml
 * itself, only in our code behind it (see docs/RELIABILITY.md). */
#include <stdlib.h>
#include <string.h>
#include "scenario/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    scenario sc;
    int rc = sc_load_text("fuzz.yaml", "/nonexistent-th-fuzz", (const char *)data, size, &sc);
    const char *err = sc_errors(&sc);
    if (rc && (!err || !*err)) abort(); /* refused without a reason */
    if (!rc && (!sc.name[0] || sc.n_devices < 1)) abort();
    sc_free(&sc);
    return 0;
}
