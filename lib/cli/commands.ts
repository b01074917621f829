// One line per command; each command module owns its own file under lib/cli/.
// (Commands are added here by the issues that build them.)
export {};
