"""The hotline service without a web framework: what happens to a message between a channel and the
store, and the composition root that builds it (`bot.service.hotline`)."""
