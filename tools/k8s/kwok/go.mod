// Wrapper module: builds kwok (simulated nodes and pods) at a pinned version.
module netguard.local/tools/k8s/kwok

go 1.24.0

require sigs.k8s.io/kwok v0.7.0
