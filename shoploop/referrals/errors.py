from django.utils.translation import gettext_lazy as _

from shoploop.core.errors import Conflict, DomainError, NotFound, ValidationFailed


class ShareTargetNotFound(NotFound):
    code = "share_target_not_found"
    default_message = _("There is nothing to share here, or it is not public.")


class ShareLinkNotFound(NotFound):
    code = "share_link_not_found"
    default_message = _("This share link does not exist.")


class InvalidRates(ValidationFailed):
    code = "invalid_commission_rates"
    default_message = _("Commission rates must be whole basis points and sum to at most the cap.")


class NotAPromoter(DomainError):
    code = "not_a_promoter"
    status = 403
    default_message = _("Only promoters can do that.")


class AlreadyDecided(Conflict):
    code = "already_decided"
    default_message = _("That was already decided.")
