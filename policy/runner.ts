// Policy runner (no Pulumi engine) for the msa-infra-security pack: loads Kubernetes manifests (YAML/JSON), maps them
// to the argument objects the Pulumi CLI's analyzer builds, runs the very same policy objects
// (validateResource / validateStack) and formats a report. Used by scripts/policy.ts (the CLI) and
// by the render command (`evaluate` on what it rendered, with Pulumi.<stack>.policy.json).
//
// This module is the runner's public API (scripts and tests import it); each job lives in its own module
// under offline/, listed lowest layer first: a module imports only modules listed before it.
// - offline/report.ts             Violation, the report text (formatReport) and its verdict (hasMandatory);
// - offline/kubectlYaml.ts        YAML read exactly as kubectl reads it, or refused (decodeManifestYaml, YamlRefusal);
// - offline/unknownValues.ts      the unknown-checking proxy (a string read from a file is never unknown);
// - offline/manifests.ts          loading manifest files and directories (loadManifests, ManifestError);
// - offline/enforcementLevels.ts  the CLI's order of enforcement levels (effectiveLevel);
// - offline/policyConfig.ts       reading and validating a policy config (loadPolicyConfig, PolicyConfigError);
// - offline/evaluate.ts           running every policy on the manifests (evaluate).

export type { PolicyPackConfig } from "@pulumi/policy";
export { evaluate } from "./offline/evaluate";
export { effectiveLevel } from "./offline/enforcementLevels";
export { decodeManifestYaml, YamlRefusal, YamlSyntaxError } from "./offline/kubectlYaml";
export { loadManifests, ManifestError } from "./offline/manifests";
export { loadPolicyConfig, PolicyConfigError, validatePolicyConfig } from "./offline/policyConfig";
export { formatReport, hasMandatory } from "./offline/report";
export type { Violation } from "./offline/report";
