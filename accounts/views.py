"""Sign in and out: staff by username and password, patients by booking reference."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from audit.models import AuditAction
from audit.trail import record

from . import sign_in
from .backends import normalise_reference
from .forms import PatientSignInForm, StaffSignInForm
from .sign_in_limits import describe_wait

NOT_FOUND = (
    "We could not find a referral with that booking reference and date of birth. "
    "Check both against your referral letter and try again."
)
CODE_WRONG = (
    "That code, booking reference and date of birth do not match. Check the code in the latest message "
    "we sent, or ask for a new code."
)
WRONG_PASSWORD = "The username or password is not right. Check them and try again."


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else ""


def _tries_left(outcome: sign_in.Outcome) -> str:
    if not outcome.warn:
        return ""
    tries = outcome.tries_left or 0
    if tries <= 1:
        return "If the next try is not right, you will have to wait before you can try again."
    return f"You can try {tries} more times before you have to wait."


def _wait_page(request: HttpRequest, outcome: sign_in.Outcome) -> HttpResponse:
    response = render(
        request, "accounts/locked_out.jinja", {"wait": describe_wait(outcome.wait)}, status=429
    )
    response["Retry-After"] = str(int(outcome.wait.total_seconds()) + 1)
    return response


@require_http_methods(["GET", "POST"])
def staff_sign_in(request: HttpRequest) -> HttpResponse:
    form = StaffSignInForm(request.POST or None)
    warning = ""
    if request.method == "POST" and form.is_valid():
        outcome = sign_in.staff_sign_in(request, form.cleaned_data["username"], form.cleaned_data["password"])
        if outcome.signed_in:
            login(request, outcome.user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(_safe_next(request) or "home")
        if outcome.must_wait:
            return _wait_page(request, outcome)
        form.add_error(None, WRONG_PASSWORD)
        warning = _tries_left(outcome)
    context = {"form": form, "next": _safe_next(request), "warning": warning}
    return render(request, "accounts/staff_sign_in.jinja", context)


CODE_SENT = (
    "If the booking reference and date of birth match a referral, we have sent a 6-digit code to the "
    "email address or mobile phone number we hold for you. It works for 10 minutes."
)


@require_http_methods(["GET", "POST"])
def patient_sign_in(request: HttpRequest) -> HttpResponse:
    """Reference and date of birth; after failures, the postcode too, or a code sent to the patient."""
    posted = request.POST if request.method == "POST" else {}
    postcode_asked = posted.get("postcode_asked") == "yes"
    sending_code = "send_code" in posted
    code_sent = posted.get("code_sent") == "yes" and not sending_code
    # A link in a patient's message arrives with its booking reference (?reference=) to fill in.
    reference = normalise_reference(request.GET.get("reference", ""))[:20]
    form = PatientSignInForm(
        request.POST or None,
        postcode_needed=postcode_asked and not code_sent and not sending_code,
        code_needed=code_sent,
        initial={"booking_reference": reference},
    )
    warning = info = ""
    if request.method == "POST" and form.is_valid() and form.date_of_birth is not None:
        reference = form.cleaned_data["booking_reference"]
        if sending_code:
            outcome = sign_in.request_sign_in_code(request, reference, form.date_of_birth)
            if outcome.must_wait:
                return _wait_page(request, outcome)
            code_sent, info = True, CODE_SENT
        else:
            outcome = sign_in.patient_sign_in(
                request,
                reference,
                form.date_of_birth,
                None if code_sent else form.cleaned_data["postcode"],
                one_time_code=form.cleaned_data["one_time_code"] if code_sent else None,
            )
            if outcome.signed_in:
                login(request, outcome.user, backend=settings.PATIENT_SIGN_IN_BACKEND)
                return redirect(_safe_next(request) or "home")
            if outcome.must_wait:
                return _wait_page(request, outcome)
            postcode_asked = outcome.postcode_needed
            if outcome.tries_left is None:  # nothing was checked: the postcode is needed first
                form.add_error("postcode", "Enter your postcode as well as your booking reference and date of birth")
            else:
                form.add_error(None, CODE_WRONG if code_sent else NOT_FOUND)
                warning = _tries_left(outcome)
    context = {
        "form": form, "next": _safe_next(request), "warning": warning, "info": info,
        "postcode_asked": postcode_asked, "code_sent": code_sent,
    }
    return render(request, "accounts/patient_sign_in.jinja", context)


@require_http_methods(["GET", "POST"])
def sign_out(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":  # a link in the header: confirm with a form so sign-out stays a POST
        return render(request, "accounts/sign_out.jinja")
    if request.user.is_authenticated:
        record(AuditAction.SIGN_OUT, request.user, summary=f"{request.user.get_username()} signed out")
    logout(request)
    return redirect("home")
