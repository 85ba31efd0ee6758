-- The ceiling: a JSON POST to a route that parses the body and answers, touching nothing else.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"redirect_uris":["https://another.client.example/oidc"],"client_name":"another-example-client","contacts":["test@iam.test"],"token_endpoint_auth_method":"client_secret_basic","scope":"address phone openid email profile offline_access","grant_types":["refresh_token","authorization_code"],"response_types":["code"]}'
wrk.path = "/bench/noop"
