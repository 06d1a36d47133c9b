// The shared reading module: how the policies read Kubernetes objects and the software in them.
// Every policy reads pod specs, environments, command lines, mounted files and server configuration
// through these functions, so a way of expressing a setting is understood by every policy at once.

export * from "./unknowns";
export * from "./stackIndex";
export * from "./files";
export * from "./sym";
export * from "./fs";
export * from "./programs";
export * from "./shellSyntax";
export * from "./shellRun";
export * from "./startup";
export * from "./environment";
export * from "./credentials";
export * from "./properties";
export * from "./kafka";
export * from "./redis";
export * from "./mariadb";
export * from "./images";
export * from "./network";
export * from "./quantities";
