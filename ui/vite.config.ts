import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The production build lands inside the Python package, so a user needs no Node to run the UI.
export default defineConfig({
  base: "/ui/",
  plugins: [react()],
  build: {
    outDir: "../src/claude_memory/web/static",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    sourcemap: false,
    modulePreload: { polyfill: false },
  },
});
