"""The gateway's routes and pages by audience, each area a mixin of GatewayService: public (no
account), accounts, citizens, officials, operator (the province office), postal (the postal
operator's signed endpoint) and meta (health, metrics, the OpenAPI document, the gateway's timers).
A page sits beside the API route it mirrors."""
