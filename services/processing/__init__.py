"""Processing (giải quyết hồ sơ): cases, workflow, working-day deadlines, tamper-evident history."""
