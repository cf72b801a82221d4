"""Log in with a password, get a token, and let only admins read the report.

The accounts are in the SQLite database the tutor gives your app (its path is in the environment
variable BACKEND_TUTOR_DB), in one table:

    CREATE TABLE users (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, role TEXT NOT NULL)

It holds ada (admin, password "correct horse battery") and bob (reader, "tr0ub4dor&3"); an earlier
version of this app stored their passwords as argon2id hashes.
The signing key comes from the environment variable JWT_KEY, which the tutor sets for your app.
"""

import os
import time

import jwt
from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel, Field

app = FastAPI()
SECRET = os.environ["JWT_KEY"]  # the deployment's signing key, never in the code; a missing key stops the start
DATABASE = os.environ["BACKEND_TUTOR_DB"]  # holds the users table


def hash_password(password: str) -> str:
    return password  # TODO: never store a password as it is


def verify_password(stored_hash: str, password: str) -> bool:
    return stored_hash == password


def find_user(username: str) -> tuple[str, str] | None:
    """The stored password hash and role of the user with this name, or None."""
    return None  # TODO: read them from the users table (sqlite3.connect(DATABASE))


class Login(BaseModel):
    # Bounded: a megabyte of "password" is refused before any hashing (422).
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


@app.post("/login")
def login(body: Login):
    raise HTTPException(status_code=501, detail="not written yet")


@app.get("/admin/report")
def admin_report(authorization: str | None = Header(default=None)):
    return {"report": "quarterly numbers"}


def make_token(username: str, role: str) -> str:
    now = int(time.time())
    return jwt.encode({"sub": username, "role": role, "iat": now, "exp": now + 900}, SECRET, algorithm="HS256")
