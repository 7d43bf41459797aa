// The escape attempts (escapeSuite.ts) from a default container whose root is the host's root.
import { defineEscapeTests, escapeSkip } from "./escapeSuite";

defineEscapeTests("sec", {}, escapeSkip());
