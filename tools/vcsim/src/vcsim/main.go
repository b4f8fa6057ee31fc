// Command vcsim starts VMware's vCenter simulator (govmomi's simulator.VPX) on loopback
// for vmconsole's tests and benchmarks. Debian's golang-github-vmware-govmomi-dev ships
// the simulator library but not govmomi's own vcsim command, hence this launcher.
//
// It prints one JSON line on stdout once the server answers: its SDK URL and the SHA-256
// fingerprint of its TLS certificate (the tests pin it). It stops on SIGTERM, SIGINT or
// when its stdin closes, so a test run that dies takes the simulator with it.
package main

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func main() {
	listen := flag.String("l", "127.0.0.1:0", "address to listen on (loopback only)")
	datacenters := flag.Int("dc", 1, "datacenters")
	clusters := flag.Int("cluster", 1, "clusters per datacenter")
	hosts := flag.Int("host", 3, "hosts per cluster")
	standalone := flag.Int("standalone-host", 0, "standalone hosts per datacenter")
	vms := flag.Int("vm", 2, "virtual machines per resource pool")
	datastores := flag.Int("ds", 1, "datastores, mounted on every host")
	drs := flag.String("drs", "", "DRS automation level of every cluster (manual, "+
		"partiallyAutomated, fullyAutomated); empty: vcsim's own (DRS on, no level)")
	user := flag.String("username", "vmconsole@vsphere.local", "the one user that may log in")
	flag.Parse()

	// The password comes from the environment, never from the command line (ps shows it).
	password := os.Getenv("VCSIM_PASSWORD")
	if password == "" {
		fail("VCSIM_PASSWORD is not set")
	}
	if !strings.HasPrefix(*listen, "127.") && !strings.HasPrefix(*listen, "[::1]") {
		fail("listen on a loopback address only, not " + *listen)
	}

	model := simulator.VPX()
	model.Datacenter = *datacenters
	model.Cluster = *clusters
	model.ClusterHost = *hosts
	model.Host = *standalone
	model.Machine = *vms
	model.Datastore = *datastores
	defer model.Remove()
	if err := model.Create(); err != nil {
		fail(err.Error())
	}
	// vcsim ignores a change of drsConfig (ReconfigureComputeResource_Task applies only
	// rules, groups and overrides), so a level to test with is set here, at creation.
	if *drs != "" {
		for _, entity := range simulator.Map.All("ClusterComputeResource") {
			cluster := entity.(*simulator.ClusterComputeResource)
			config := cluster.ConfigurationEx.(*types.ClusterConfigInfoEx)
			config.DrsConfig.DefaultVmBehavior = types.DrsBehavior(*drs)
		}
	}
	model.Service.TLS = new(tls.Config)
	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*user, password)}
	server := model.Service.NewServer()
	defer server.Close()

	digest := sha256.Sum256(server.Certificate().Raw)
	pairs := make([]string, len(digest))
	for i, b := range digest {
		pairs[i] = fmt.Sprintf("%02X", b)
	}
	sdk := *server.URL
	sdk.User = nil
	hello, _ := json.Marshal(map[string]interface{}{
		"url":         sdk.String(),
		"host":        sdk.Hostname(),
		"port":        sdk.Port(),
		"fingerprint": strings.Join(pairs, ":"),
		"pid":         os.Getpid(),
	})
	fmt.Println(string(hello))

	done := make(chan os.Signal, 1)
	signal.Notify(done, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		done <- syscall.SIGHUP
	}()
	<-done
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, "vcsim:", message)
	os.Exit(2)
}
