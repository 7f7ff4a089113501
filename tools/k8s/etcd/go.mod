// Wrapper module: builds etcd's server at a pinned version. etcd's own go.mod replaces its sibling
// modules with relative paths, so they are pinned here to the same published release.
module netguard.local/tools/k8s/etcd

go 1.24

require go.etcd.io/etcd/server/v3 v3.6.6

replace (
	go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 v3.6.6
	go.etcd.io/etcd/client/pkg/v3 => go.etcd.io/etcd/client/pkg/v3 v3.6.6
	go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 v3.6.6
	go.etcd.io/etcd/pkg/v3 => go.etcd.io/etcd/pkg/v3 v3.6.6
)
