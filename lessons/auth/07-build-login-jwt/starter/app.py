"""Log in with a password, get a token, and let only admins read the report.

Two users exist, made when the app starts: ada (admin) and bob (reader); both passwords are below.
The signing key comes from the environment variable JWT_KEY, which the tutor sets for your app.
"""

import os
import time

import jwt
from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel, Field

app = FastAPI()
SECRET = os.environ["JWT_KEY"]  # the deployment's signing key, never in the code; a missing key stops the start


def hash_password(password: str) -> str:
    return password  # TODO: never store a password as it is


def verify_password(stored_hash: str, password: str) -> bool:
    return stored_hash == password


USERS = {
    "ada": {"password_hash": hash_password("correct horse battery"), "role": "admin"},
    "bob": {"password_hash": hash_password("tr0ub4dor&3"), "role": "reader"},
}


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
