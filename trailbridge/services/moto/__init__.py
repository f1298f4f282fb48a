"""The parts of the moto bridge (`trailbridge.services.moto_bridge`): every AWS service trailbridge does not
serve itself, answered by moto's backends in this process (no moto server), per account and region.

The server parses a request with trailbridge's protocol modules and hands the bridge the parsed call
(operation model, parameters, account, region, access key); the bridge re-serialises it with botocore into
the request boto3 would send (`wire`), hands that to moto's URL dispatch in process (`backends`, the only
module that touches moto), and parses moto's answer with botocore back into the output shape's members,
which the server writes in the client's own protocol. `checks` answers what AWS checks and moto does not (a
DynamoDB table name) before the call reaches moto. `identity` says who holds a key moto's STS issued.
"""
