// Real Kafka 3.8.1 for the tests, started from the RENDERED objects (see cluster.ts). One module per job:
// dist (prerequisites), rendered (the render the cluster runs), netLab (network namespaces), pod (one emulated
// pod), cluster (the nodes together, shared clusters, teardown), probe (the JVM test client), topics, jaas
// (JAAS text) and logDirs (what brokers leave on their volumes).

export * from "./dist";
export * from "./rendered";
export * from "./netLab";
export * from "./pod";
export * from "./cluster";
export * from "./probe";
export * from "./topics";
export * from "./jaas";
export * from "./logDirs";
