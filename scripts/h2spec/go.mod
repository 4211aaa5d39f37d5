// h2spec's build, pinned. h2spec 2.2.1 predates Go modules (a +incompatible version with no go.mod
// of its own), so `go install pkg@version` would take the newest version of each dependency: this
// module fixes them and go.sum their checksums. scripts/install-tools.sh builds it with
// `go build -mod=readonly`. h2spec is a test tool (test/integration/grpc/h2spec.test.ts), not part of
// Gatehouse.
// h2spec's build, pinned: h2spec 2.2.1 predates Go modules (a `+incompatible` version with no
// go.mod of its own), so `go install pkg@version` would take the newest version of each of its
// dependencies. This module fixes them, and go.sum their checksums. scripts/install-tools.sh builds
// it with `go build -mod=readonly`; h2spec is not part of Gatehouse, only of its tests.
module gatehouse.local/h2spec-build

go 1.26.0

tool github.com/summerwind/h2spec/cmd/h2spec

require (
	github.com/fatih/color v1.19.0 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	github.com/spf13/cobra v1.10.2 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	github.com/summerwind/h2spec v2.2.1+incompatible // indirect
	golang.org/x/net v0.63.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)
