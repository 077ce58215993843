// Test layers (see README "Tests"): `unit` is the fast suite that `npm test` runs; `vm` boots
// real qemu guests (npm run test:vm); `integration` checks the program's resources against a local
// OpenStack's APIs without the engine (npm run test:integration); `engine` runs the program
// through the real Pulumi engine against that OpenStack (npm run test:engine).
const tsJest = { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] };
const common = {
    testEnvironment: "node",
    transform: tsJest,
    moduleFileExtensions: ["ts", "js", "json"],
};

module.exports = {
    // Jest uses cores - 1 workers by default: one on these 2-core machines.
    maxWorkers: 2,
    // A whole-program mock run takes 2.3 s on an idle machine; CI builds the VM image and the
    // engine in the background meanwhile, and jest's default 5 s would fail on time alone. (The
    // VM and integration tests set their own, longer timeouts.)
    testTimeout: 30_000,
    projects: [
        {
            ...common,
            displayName: "unit",
            testMatch: [
                "<rootDir>/tests/unit/**/*.test.ts",
                "<rootDir>/tests/components/**/*.test.ts",
                "<rootDir>/tests/stacks/**/*.test.ts",
                "<rootDir>/policy/**/*.test.ts",
                "<rootDir>/tests/migration/**/*.test.ts",
            ],
        },
        { ...common, displayName: "vm", testMatch: ["<rootDir>/tests/vm/**/*.test.ts"] },
        {
            ...common,
            displayName: "integration",
            testMatch: ["<rootDir>/tests/integration/**/*.test.ts"],
        },
        { ...common, displayName: "engine", testMatch: ["<rootDir>/tests/engine/**/*.test.ts"] },
    ],
};
