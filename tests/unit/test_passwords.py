from sfa.auth.passwords import PasswordHasher, password_problem

FAST = PasswordHasher(memory_kib=1024, iterations=1)


def test_a_password_verifies_against_its_own_hash_only():
    stored = FAST.hash("correct horse battery")
    assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert FAST.verify("correct horse battery", stored)
    assert not FAST.verify("correct horse batterY", stored)


def test_the_same_password_hashes_differently_each_time():
    assert FAST.hash("same password") != FAST.hash("same password")


def test_an_account_without_a_hash_never_verifies_but_still_does_the_work():
    calls = []

    class Counting(PasswordHasher):
        def verify(self, password, encoded):
            calls.append(encoded)
            return super().verify(password, encoded)

    hasher = Counting(memory_kib=1024, iterations=1)
    assert not hasher.verify("no account has this password", None)
    assert calls == [None]


def test_a_corrupt_stored_hash_does_not_verify():
    assert not FAST.verify("x", "$argon2id$garbage")


def test_the_production_default_is_the_owasp_argon2id_setting():
    default = PasswordHasher()
    assert (default.memory_kib, default.iterations, default.lanes) == (19456, 2, 1)


def test_a_hash_made_with_other_parameters_needs_rehashing():
    assert PasswordHasher().needs_rehash(FAST.hash("password1"))
    assert not FAST.needs_rehash(FAST.hash("password1"))


def test_short_passwords_are_refused():
    assert password_problem("short") == "must be at least 8 characters"
    assert password_problem("long enough") is None
