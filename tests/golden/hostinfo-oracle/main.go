// SPDX-License-Identifier: BSD-3-Clause
//
// The oracle for tests/golden/hostinfo-*.json (not part of tagent, not built by CMake): the Go agent v5.1's
// own host-info parser (pkg/lib/hostinfo, built by run.sh from an intel-secl checkout with its file paths
// moved under a test root), serialized as the Go agent does: json.MarshalIndent(v, "", "  ") for the
// platform-info file `tagent init` writes; with -compact, the NATS host-info reply, which the service makes
// by reading platform-info back into a HostInfo (json.Unmarshal) and nats.go's JSON encoder (json.Marshal).
// The parser logs on stdout, so the JSON goes to the file named by -o.
package main

import (
	"encoding/json"
	"flag"
	"os"

	"github.com/intel-secl/intel-secl/v5/pkg/lib/hostinfo"
	model "github.com/intel-secl/intel-secl/v5/pkg/model/ta"
)

func main() {
	compact := flag.Bool("compact", false, "the NATS reply instead of platform-info")
	output := flag.String("o", "", "the file to write the JSON to")
	flag.Parse()

	text, err := json.MarshalIndent(hostinfo.NewHostInfoParser().Parse(), "", "  ")
	if err == nil && *compact {
		var readBack model.HostInfo
		if err = json.Unmarshal(text, &readBack); err == nil {
			text, err = json.Marshal(&readBack)
		}
	}
	if err == nil {
		err = os.WriteFile(*output, text, 0600)
	}
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
}
