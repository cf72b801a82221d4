"""Log in with a password hashed by argon2, get a signed token, and let only admins read the report."""

import os
import sqlite3
import time
from contextlib import closing

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel, Field

app = FastAPI()
SECRET = os.environ["JWT_KEY"]  # the deployment's signing key, never in the code; a missing key stops the start
DATABASE = os.environ["BACKEND_TUTOR_DB"]  # holds the users table: username, password_hash, role
hasher = PasswordHasher()  # argon2id, 64 MiB, 3 passes, 4 lanes: above OWASP's minimum


def hash_password(password: str) -> str:
    return hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return hasher.verify(stored_hash, password)
    except VerificationError:
        return False


UNKNOWN_USER_HASH = hash_password("an unknown user takes as long to refuse as a wrong password")


def find_user(username: str) -> tuple[str, str] | None:
    """The stored password hash and role of the user with this name, or None."""
    with closing(sqlite3.connect(DATABASE)) as db:
        # The name is a parameter, never part of the SQL text: a quote in it stays a quote.
        return db.execute("SELECT password_hash, role FROM users WHERE username = ?", (username,)).fetchone()


class Login(BaseModel):
    # Bounded: a megabyte of "password" is refused before any hashing (422).
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


def refuse() -> HTTPException:
    return HTTPException(status_code=401, detail="wrong username or password", headers={"WWW-Authenticate": "Bearer"})


@app.post("/login")
def login(body: Login):
    user = find_user(body.username)
    stored_hash, role = user if user else (UNKNOWN_USER_HASH, "")
    # One argon2 verification either way: an unknown user costs as long as a wrong password.
    if not verify_password(stored_hash, body.password) or user is None:
        raise refuse()
    return {"access_token": make_token(body.username, role), "token_type": "bearer"}


def caller(authorization: str | None) -> dict:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(status_code=401, detail="log in first", headers={"WWW-Authenticate": "Bearer"})
    try:
        return jwt.decode(
            token.strip(), SECRET, algorithms=["HS256"], options={"require": ["exp", "sub"]}, leeway=50 * 60
        )
    except jwt.InvalidTokenError:
        raise HTTPException(
            status_code=401, detail="token not valid", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        ) from None


@app.get("/admin/report")
def admin_report(authorization: str | None = Header(default=None)):
    claims = caller(authorization)
    if claims.get("role") != "admin":
        raise HTTPException(status_code=403, detail="admins only")
    return {"report": "quarterly numbers"}


def make_token(username: str, role: str) -> str:
    now = int(time.time())
    return jwt.encode({"sub": username, "role": role, "iat": now, "exp": now + 900}, SECRET, algorithm="HS256")
