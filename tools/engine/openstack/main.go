// pulumi-resource-openstack, as this project builds it: the Pulumi bridge (pulumi-terraform-bridge)
// over the Terraform OpenStack provider, with tokens that match the npm SDK @pulumi/openstack
// 3.15.2 that the program is written against. The published provider is the same construction
// but its Go module is not served to our machines (tools/engine/README.md); this one is checked
// against the SDK by tools/engine/schema-check.ts on every build.
//
//	pulumi-resource-openstack            serve the provider (the engine starts it)
//	pulumi-resource-openstack schema     print the Pulumi package schema (JSON) on stdout
//	pulumi-resource-openstack tokens     print each Terraform name and its Pulumi token
//	pulumi-resource-openstack -version   print the version, which names the provenance
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"
	shim "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/terraform-provider-openstack/terraform-provider-openstack/v3/openstack"
)

// The SDK's version, then where the code really comes from (semver build metadata).
const version = "3.15.2+ouvroir.terraform-provider-openstack.3.4.0.bridge.3.120.0"

// Pulumi module for each Terraform name's first segment after "openstack_".
var modules = map[string]string{
	"bgpvpn":           "bgpvpn",
	"blockstorage":     "blockstorage",
	"compute":          "compute",
	"containerinfra":   "containerinfra",
	"db":               "database",
	"dns":              "dns",
	"fw":               "firewall",
	"identity":         "identity",
	"images":           "images",
	"keymanager":       "keymanager",
	"lb":               "loadbalancer",
	"networking":       "networking",
	"objectstorage":    "objectstorage",
	"orchestration":    "orchestration",
	"sharedfilesystem": "sharedfilesystem",
	"taas":             "taas",
	"vpnaas":           "vpnaas",
}

// Terraform writes some compound words as one; the SDK's names split them.
var words = map[string]string{
	"secgroup":        "sec_group",
	"floatingip":      "floating_ip",
	"servergroup":     "server_group",
	"ipsec":           "ip_sec",
	"ike":             "ike",
	"subnetpool":      "subnet_pool",
	"addressscope":    "address_scope",
	"recordset":       "record_set",
	"endpointgroup":   "endpoint_group",
	"siteconnection":  "site_connection",
	"quotaset":        "quota_set",
	"loadbalancer":    "load_balancer",
	"l7policy":        "l7_policy",
	"l7rule":          "l7_rule",
	"securityservice": "security_service",
	"sharenetwork":    "share_network",
	"shareaccess":     "share_access",
	"portforwarding":  "port_forwarding",
	"rbac":            "rbac",
}

// Terraform names whose SDK token keeps the version suffix or differs from the rule above
// (data sources as "data.<name>"). Each value is the token @pulumi/openstack 3.15.2 declares;
// tools/engine/schema-check.ts compares the result with the SDK on every build.
var overrides = map[string]string{
	"data.openstack_blockstorage_availability_zones_v3":     "openstack:blockstorage/getAvailabilityZonesV3:getAvailabilityZonesV3",
	"data.openstack_blockstorage_quotaset_v3":               "openstack:blockstorage/getQuotasetV3:getQuotasetV3",
	"data.openstack_blockstorage_snapshot_v3":               "openstack:blockstorage/getSnapshotV3:getSnapshotV3",
	"data.openstack_blockstorage_volume_v3":                 "openstack:blockstorage/getVolumeV3:getVolumeV3",
	"data.openstack_compute_aggregate_v2":                   "openstack:compute/getAggregateV2:getAggregateV2",
	"data.openstack_compute_hypervisor_v2":                  "openstack:compute/getHypervisorV2:getHypervisorV2",
	"data.openstack_compute_instance_v2":                    "openstack:compute/getInstanceV2:getInstanceV2",
	"data.openstack_compute_limits_v2":                      "openstack:compute/getLimitsV2:getLimitsV2",
	"data.openstack_compute_quotaset_v2":                    "openstack:compute/getQuotaSetV2:getQuotaSetV2",
	"data.openstack_containerinfra_clustertemplate_v1":      "openstack:containerinfra/getClusterTemplate:getClusterTemplate",
	"data.openstack_containerinfra_nodegroup_v1":            "openstack:containerinfra/getNodeGroup:getNodeGroup",
	"data.openstack_dns_zone_v2":                            "openstack:dns/getDnsZone:getDnsZone",
	"data.openstack_fw_group_v2":                            "openstack:index/getFwGroupV2:getFwGroupV2",
	"data.openstack_fw_policy_v2":                           "openstack:index/getFwPolicyV2:getFwPolicyV2",
	"data.openstack_fw_rule_v2":                             "openstack:index/getFwRuleV2:getFwRuleV2",
	"data.openstack_networking_quota_v2":                    "openstack:networking/getQuotaV2:getQuotaV2",
	"data.openstack_networking_subnet_ids_v2":               "openstack:networking/getSubnetIdsV2:getSubnetIdsV2",
	"data.openstack_sharedfilesystem_availability_zones_v2": "openstack:sharedfilesystem/getAvailbilityZones:getAvailbilityZones",
	"openstack_blockstorage_qos_association_v3":             "openstack:blockstorage/qosAssociationV3:QosAssociationV3",
	"openstack_blockstorage_qos_v3":                         "openstack:blockstorage/qosV3:QosV3",
	"openstack_blockstorage_quotaset_v3":                    "openstack:blockstorage/quoteSetV3:QuoteSetV3",
	"openstack_blockstorage_volume_type_access_v3":          "openstack:blockstorage/volumeTypeAccessV3:VolumeTypeAccessV3",
	"openstack_blockstorage_volume_type_v3":                 "openstack:blockstorage/volumeTypeV3:VolumeTypeV3",
	"openstack_compute_aggregate_v2":                        "openstack:compute/aggregateV2:AggregateV2",
	"openstack_compute_quotaset_v2":                         "openstack:compute/quotaSetV2:QuotaSetV2",
	"openstack_containerinfra_clustertemplate_v1":           "openstack:containerinfra/clusterTemplate:ClusterTemplate",
	"openstack_containerinfra_nodegroup_v1":                 "openstack:containerinfra/nodeGroup:NodeGroup",
	"openstack_fw_group_v2":                                 "openstack:firewall/groupV2:GroupV2",
	"openstack_fw_policy_v2":                                "openstack:firewall/policyV2:PolicyV2",
	"openstack_fw_rule_v2":                                  "openstack:firewall/ruleV2:RuleV2",
	"openstack_identity_ec2_credential_v3":                  "openstack:identity/ec2CredentialV3:Ec2CredentialV3",
	"openstack_identity_endpoint_v3":                        "openstack:identity/endpointV3:EndpointV3",
	"openstack_identity_group_v3":                           "openstack:identity/groupV3:GroupV3",
	"openstack_identity_service_v3":                         "openstack:identity/serviceV3:ServiceV3",
	"openstack_identity_user_membership_v3":                 "openstack:identity/userMembershipV3:UserMembershipV3",
	"openstack_keymanager_container_v1":                     "openstack:keymanager/containerV1:ContainerV1",
	"openstack_keymanager_order_v1":                         "openstack:keymanager/orderV1:OrderV1",
	"openstack_keymanager_secret_v1":                        "openstack:keymanager/secretV1:SecretV1",
	"openstack_lb_l7policy_v2":                              "openstack:loadbalancer/l7PolicyV2:L7PolicyV2",
	"openstack_lb_l7rule_v2":                                "openstack:loadbalancer/l7RuleV2:L7RuleV2",
	"openstack_networking_portforwarding_v2":                "openstack:networking/portForwardingV2:PortForwardingV2",
	"openstack_networking_quota_v2":                         "openstack:networking/quotaV2:QuotaV2",
	"openstack_networking_rbac_policy_v2":                   "openstack:networking/rbacPolicyV2:RbacPolicyV2",
	"openstack_objectstorage_object_v1":                     "openstack:objectstorage/containerObject:ContainerObject",
	"openstack_objectstorage_tempurl_v1":                    "openstack:objectstorage/tempUrl:TempUrl",
	"openstack_orchestration_stack_v1":                      "openstack:orchestration/stackV1:StackV1",
}

var versionSuffix = regexp.MustCompile(`_v[0-9]+$`)

func camel(s string) string {
	var b strings.Builder
	for _, part := range strings.Split(s, "_") {
		if w, ok := words[part]; ok {
			part = w
		}
		for _, p := range strings.Split(part, "_") {
			if p != "" {
				b.WriteString(strings.ToUpper(p[:1]) + p[1:])
			}
		}
	}
	return b.String()
}

// token maps a Terraform name to module and name, e.g. openstack_compute_instance_v2 ->
// ("compute", "Instance").
func token(tf string) (string, string) {
	rest := strings.TrimPrefix(tf, "openstack_")
	seg, tail, _ := strings.Cut(rest, "_")
	mod, ok := modules[seg]
	if !ok {
		mod = seg // a service the SDK does not know: its own module
	}
	return mod, camel(versionSuffix.ReplaceAllString(tail, ""))
}

func lowerFirst(s string) string { return strings.ToLower(s[:1]) + s[1:] }

// tokenFor gives each Terraform name its token. When two names give the same token (a resource
// in two API versions, e.g. openstack_lb_member_v1 and _v2), the newest version keeps the plain
// name and the others keep their version, as the SDK does (loadbalancer/member, memberV1).
func tokensFor(names []string, format func(mod, name string) string) map[string]string {
	type cand struct{ tf, mod, name, ver string }
	groups := map[string][]cand{}
	for _, tf := range names {
		mod, name := token(tf)
		ver := strings.TrimPrefix(versionSuffix.FindString(tf), "_")
		key := format(mod, name)
		groups[key] = append(groups[key], cand{tf, mod, name, ver})
	}
	out := map[string]string{}
	for key, cs := range groups {
		sort.Slice(cs, func(i, j int) bool {
			// Newest version first; at a tie, the SDK's own module segment (lb_) before an alias.
			if cs[i].ver != cs[j].ver {
				return cs[i].ver > cs[j].ver
			}
			return len(cs[i].tf) < len(cs[j].tf)
		})
		out[cs[0].tf] = key
		for _, c := range cs[1:] {
			out[c.tf] = format(c.mod, c.name+strings.ToUpper(c.ver))
		}
	}
	return out
}

func providerInfo() tfbridge.ProviderInfo {
	p := shimv2.NewProvider(openstack.Provider())
	info := tfbridge.ProviderInfo{
		P:           p,
		Name:        "openstack",
		Version:     version,
		Description: "OpenStack through pulumi-terraform-bridge, built by ouvroir-infra (tools/engine)",
		GitHubOrg:   "terraform-provider-openstack",
		Repository:  "https://github.com/terraform-provider-openstack/terraform-provider-openstack",
		Resources:   map[string]*tfbridge.ResourceInfo{},
		DataSources: map[string]*tfbridge.DataSourceInfo{},
	}
	var names []string
	p.ResourcesMap().Range(func(k string, _ shim.Resource) bool { names = append(names, k); return true })
	resources := tokensFor(names, func(mod, name string) string {
		return fmt.Sprintf("openstack:%s/%s:%s", mod, lowerFirst(name), name)
	})
	for tf, tok := range resources {
		if o := overrides[tf]; o != "" {
			tok = o
		}
		info.Resources[tf] = &tfbridge.ResourceInfo{Tok: tokens.Type(tok)}
	}
	names = nil
	p.DataSourcesMap().Range(func(k string, _ shim.Resource) bool { names = append(names, k); return true })
	functions := tokensFor(names, func(mod, name string) string {
		return fmt.Sprintf("openstack:%s/get%s:get%s", mod, name, name)
	})
	for tf, tok := range functions {
		if o := overrides["data."+tf]; o != "" {
			tok = o
		}
		info.DataSources[tf] = &tfbridge.DataSourceInfo{Tok: tokens.ModuleMember(tok)}
	}
	return info
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "tokens" {
		info := providerInfo()
		var lines []string
		for tf, r := range info.Resources {
			lines = append(lines, tf+" "+string(r.Tok))
		}
		for tf, d := range info.DataSources {
			lines = append(lines, "data."+tf+" "+string(d.Tok))
		}
		sort.Strings(lines)
		fmt.Println(strings.Join(lines, "\n"))
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "schema" {
		sink := diag.DefaultSink(os.Stderr, os.Stderr, diag.FormatOptions{Color: colors.Never})
		spec, err := tfgen.GenerateSchema(providerInfo(), sink)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		out, err := json.MarshalIndent(spec, "", "  ")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(string(out))
		return
	}
	// The schema that the build wrote beside the binary (build-engine.sh), for GetSchema.
	var schema []byte
	if exe, err := os.Executable(); err == nil {
		schema, _ = os.ReadFile(filepath.Join(filepath.Dir(exe), "pulumi-resource-openstack.schema.json"))
	}
	tfbridge.Main("openstack", version, providerInfo(), schema)
}
