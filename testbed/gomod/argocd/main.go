// Command argocd: the test bed's Argo CD, the three roles scripts/gitops runs (application controller,
// repo server, and the git askpass helper the repo server calls as itself), chosen like upstream's
// multi-call main (cmd/main.go) by ARGOCD_BINARY_NAME or the executable's name. Upstream's main also
// links the CLI, API server, Dex, notifications and the other controllers, about a quarter more
// packages to compile for nothing the bed starts. `argocd version --client --short` prints the
// version line the CLI prints (scripts/gitops logs it). Upstream's main turns off gRPC's DNS SRV
// lookups (util/grpc.DisableSRVLookups), which grpclb's balancer turns on at init; it is not linked here, so
// they stay off and that call, which panics when they are already off, is not made.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	appcontroller "github.com/argoproj/argo-cd/v3/cmd/argocd-application-controller/commands"
	gitaskpass "github.com/argoproj/argo-cd/v3/cmd/argocd-git-ask-pass/commands"
	reposerver "github.com/argoproj/argo-cd/v3/cmd/argocd-repo-server/commands"
	"github.com/argoproj/argo-cd/v3/common"
	"github.com/argoproj/argo-cd/v3/util/log"
)

func init() {
	// as upstream: klog through Argo CD's configured logger
	klog.SetLogger(log.NewLogrusLogger(log.NewWithCurrentConfig()))
}

func main() {
	name := filepath.Base(os.Args[0])
	if v := os.Getenv("ARGOCD_BINARY_NAME"); v != "" {
		name = v
	}
	var command *cobra.Command
	switch name {
	case common.CommandApplicationController:
		command = appcontroller.NewCommand()
	case common.CommandRepoServer:
		command = reposerver.NewCommand()
	case common.CommandGitAskPass:
		command = gitaskpass.NewCommand()
	default:
		if len(os.Args) > 1 && os.Args[1] == "version" && slices.Contains(os.Args[2:], "--client") {
			fmt.Printf("%s: %s\n", common.CommandCLI, common.GetVersion())
			return
		}
		fmt.Fprintf(os.Stderr, "argocd (test bed build): set ARGOCD_BINARY_NAME to %s, %s or %s; or run `argocd version --client --short`\n",
			common.CommandApplicationController, common.CommandRepoServer, common.CommandGitAskPass)
		os.Exit(2)
	}
	if err := command.Execute(); err != nil {
		os.Exit(1)
	}
}
