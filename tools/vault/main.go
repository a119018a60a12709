// Command vault is HashiCorp Vault's server and CLI, built from the
// github.com/hashicorp/vault module pinned in go.mod. It is Vault's own
// main.go minus internal.PatchSha1, which cannot be imported from outside
// the vault module and only sets GODEBUG=x509sha1=1, a setting current Go
// releases no longer have.
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
