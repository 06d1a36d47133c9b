// Entry point for the Pulumi CLI (`pulumi preview --policy-pack policy`). Constructing the
// PolicyPack starts the analyzer's gRPC server, so nothing else may import this module: tests and
// the offline runner import ./policies instead.
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("msa-infra-security", { policies, enforcementLevel: "mandatory" });
