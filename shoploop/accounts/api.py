"""/api/v1/accounts: sign-in codes, me, profiles, follows, blocks, tokens."""

from datetime import datetime

from django.shortcuts import get_object_or_404
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import CursorPagination, paginate
from pydantic import Field

from shoploop.accounts import selectors, services
from shoploop.accounts.auth import optional_auth
from shoploop.accounts.models import ApiToken, Follow, User
from shoploop.core.client_ip import client_ip
from shoploop.core.schemas import InputSchema

router = Router(tags=["accounts"])


# --- schemas -----------------------------------------------------------------------------------


class PhoneIn(InputSchema):
    phone: str = Field(max_length=64)


class VerifyIn(InputSchema):
    phone: str = Field(max_length=64)
    code: str = Field(max_length=32)
    token_name: str = Field(default="", max_length=200)
    # A new number signs up only with consent to the terms of service and the privacy policy.
    accept_terms: bool = False
    display_name: str = Field(default="", max_length=200)


class CodeSentOut(Schema):
    phone: str
    expires_at: datetime
    resend_after_seconds: int


class UserOut(Schema):
    id: str = Field(alias="public_id")
    display_name: str
    avatar_url: str | None
    bio: str

    @staticmethod
    def resolve_avatar_url(obj) -> str | None:
        if isinstance(obj, dict):  # profiles are built as dicts with the URL already resolved
            return obj.get("avatar_url")
        return obj.avatar.url if obj.avatar else None


class ProfileOut(UserOut):
    follower_count: int
    following_count: int
    is_self: bool
    following: bool
    blocked: bool


class MeOut(UserOut):
    phone: str
    locale: str
    phone_verified_at: datetime | None
    date_joined: datetime
    terms_accepted_at: datetime | None
    terms_version: str
    # Privacy: may followers' feeds show this person's purchases and deals? Off by default.
    share_activity_with_followers: bool


class MePatch(InputSchema):
    display_name: str | None = Field(default=None, max_length=200)
    bio: str | None = Field(default=None, max_length=2000)
    locale: str | None = Field(default=None, max_length=20)
    share_activity_with_followers: bool | None = None


class SignedInOut(Schema):
    token: str
    token_id: str
    signed_up: bool
    user: MeOut


class FollowerOut(Schema):
    user: UserOut
    followed_at: datetime

    @staticmethod
    def resolve_user(obj: Follow) -> User:
        return obj.follower

    @staticmethod
    def resolve_followed_at(obj: Follow) -> datetime:
        return obj.created_at


class FollowingOut(FollowerOut):
    @staticmethod
    def resolve_user(obj: Follow) -> User:
        return obj.followee


class TokenOut(Schema):
    id: str = Field(alias="public_id")
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime


class TokenIn(InputSchema):
    name: str = Field(default="", max_length=200)


class TokenIssuedOut(TokenOut):
    token: str


class SignedOutOut(Schema):
    revoked_tokens: int


def _profile(user: User, viewer) -> dict:
    summary = selectors.profile_summary(user=user, viewer=viewer)
    return {
        "public_id": user.public_id,
        "display_name": user.display_name,
        "avatar_url": user.avatar.url if user.avatar else None,
        "bio": user.bio,
        "follower_count": summary.follower_count,
        "following_count": summary.following_count,
        "is_self": summary.is_self,
        "following": summary.viewer_follows,
        "blocked": summary.viewer_blocked,
    }


# --- sign-in -----------------------------------------------------------------------------------


@router.post("/otp/send", auth=None, response={202: CodeSentOut})
def otp_send(request, payload: PhoneIn):
    otp = services.send_code(phone=payload.phone, ip=client_ip(request))
    sent = {
        "phone": otp.phone,
        "expires_at": otp.expires_at,
        "resend_after_seconds": int(services.CODE_RESEND_AFTER.total_seconds()),
    }
    return Status(202, sent)


@router.post("/otp/verify", auth=None, response=SignedInOut)
def otp_verify(request, payload: VerifyIn):
    verified = services.verify_code(
        phone=payload.phone,
        code=payload.code,
        accept_terms=payload.accept_terms,
        display_name=payload.display_name,
    )
    issued = services.issue_api_token(user=verified.user, name=payload.token_name or "app")
    return {
        "token": issued.raw,
        "token_id": issued.token.public_id,
        "signed_up": verified.signed_up,
        "user": verified.user,
    }


# --- me ----------------------------------------------------------------------------------------


@router.get("/me", response=MeOut)
def me(request):
    return request.user


@router.patch("/me", response=MeOut)
def update_me(request, payload: MePatch):
    return services.update_profile(actor=request.user, **payload.dict())


@router.post("/me/avatar", response=MeOut)
def upload_avatar(request, avatar: File[UploadedFile]):
    return services.set_avatar(actor=request.user, upload=avatar)


@router.post("/sign-out-everywhere", response=SignedOutOut)
def sign_out_everywhere(request):
    return {"revoked_tokens": services.sign_out_everywhere(user=request.user)}


# --- people ------------------------------------------------------------------------------------


@router.get("/users/{id}", auth=optional_auth, response=ProfileOut)
def user_profile(request, id: str):
    return _profile(selectors.active_user_by_public_id(id), request.user)


@router.post("/users/{id}/follow", response=ProfileOut)
def follow(request, id: str):
    target = selectors.active_user_by_public_id(id)
    services.follow(follower=request.user, followee=target)
    return _profile(target, request.user)


@router.delete("/users/{id}/follow", response=ProfileOut)
def unfollow(request, id: str):
    target = selectors.active_user_by_public_id(id)
    services.unfollow(follower=request.user, followee=target)
    return _profile(target, request.user)


@router.post("/users/{id}/block", response=ProfileOut)
def block(request, id: str):
    target = selectors.active_user_by_public_id(id)
    services.block(blocker=request.user, blocked=target)
    return _profile(target, request.user)


@router.delete("/users/{id}/block", response=ProfileOut)
def unblock(request, id: str):
    target = selectors.active_user_by_public_id(id)
    services.unblock(blocker=request.user, blocked=target)
    return _profile(target, request.user)


@router.get("/users/{id}/followers", auth=optional_auth, response=list[FollowerOut])
@paginate(CursorPagination, ordering=("-created_at",))
def user_followers(request, id: str):
    return selectors.follower_links(selectors.active_user_by_public_id(id))


@router.get("/users/{id}/following", auth=optional_auth, response=list[FollowingOut])
@paginate(CursorPagination, ordering=("-created_at",))
def user_following(request, id: str):
    return selectors.following_links(selectors.active_user_by_public_id(id))


# --- tokens ------------------------------------------------------------------------------------


@router.get("/tokens", response=list[TokenOut])
@paginate(CursorPagination, ordering=("-created_at",))
def list_tokens(request):
    return selectors.api_tokens_of(request.user)


@router.post("/tokens", response={201: TokenIssuedOut})
def issue_token(request, payload: TokenIn):
    issued = services.issue_api_token(user=request.user, name=payload.name)
    return Status(201, _issued(issued))


def _issued(issued: services.IssuedToken) -> dict:
    token = issued.token
    return {
        "public_id": token.public_id,
        "name": token.name,
        "created_at": token.created_at,
        "last_used_at": None,
        "revoked_at": None,
        "expires_at": token.expires_at,
        "token": issued.raw,
    }


@router.post("/tokens/{id}/rotate", response={201: TokenIssuedOut})
def rotate_token(request, id: str):
    """A fresh token with the same name and a full lifetime; the rotated one stops working."""
    token = get_object_or_404(ApiToken, public_id=id)
    return Status(201, _issued(services.rotate_api_token(actor=request.user, token=token)))


@router.delete("/tokens/{id}", response=TokenOut)
def revoke_token(request, id: str):
    token = get_object_or_404(ApiToken, public_id=id)
    return services.revoke_api_token(actor=request.user, token=token)
