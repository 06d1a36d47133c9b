// The sandbox (pause) image's binary; no dependencies.
module msa-infra/tools/nodes/pause

go 1.26.0
