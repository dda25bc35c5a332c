/** The quota presentation moved to the accounts package (Pi's status line uses it too); re-exported for the TUI. */
export * from "@cortexkit/openai-auth-accounts/QuotaView"
