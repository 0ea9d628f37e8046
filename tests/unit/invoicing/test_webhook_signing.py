"""Standard Webhooks signatures: the specification's own test vector, and rotation."""

from __future__ import annotations

import base64

from services.invoicing.webhooks import signing

# From the Standard Webhooks reference libraries' tests (libraries/python/tests).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = '{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_specifications_test_vector() -> None:
    assert (
        signing.signature(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)
        == VECTOR_SIGNATURE
    )


def test_a_secret_is_whsec_and_the_base64_of_its_key() -> None:
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == signing.KEY_BYTES
    assert secret != signing.new_secret()


def test_headers_carry_one_signature_per_valid_secret() -> None:
    old, new = VECTOR_SECRET, signing.new_secret()
    headers = signing.headers([new, old], VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)
    assert headers["webhook-id"] == VECTOR_ID
    assert headers["webhook-timestamp"] == str(VECTOR_TIMESTAMP)
    assert headers["webhook-signature"].split()[1] == VECTOR_SIGNATURE
    for secret in (old, new):
        assert signing.verify(
            secret, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY, headers["webhook-signature"]
        )
    assert not signing.verify(
        signing.new_secret(), VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY, headers["webhook-signature"]
    )


def test_any_change_to_id_time_or_body_breaks_the_signature() -> None:
    header = signing.signature(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)
    for message_id, ts, body in (
        ("msg_other", VECTOR_TIMESTAMP, VECTOR_BODY),
        (VECTOR_ID, VECTOR_TIMESTAMP + 1, VECTOR_BODY),
        (VECTOR_ID, VECTOR_TIMESTAMP, '{"test": 2432232315}'),
    ):
        assert not signing.verify(VECTOR_SECRET, message_id, ts, body, header)
