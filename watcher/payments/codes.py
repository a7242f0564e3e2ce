"""The table of Alipay result codes and what each means for a Huabei payment.

Checked against the Alipay open platform's public code tables (公共错误码 for the gateway codes
10000/20000/20001/40001/40002/40004/40006 and their ``isp.*`` / ``aop.*`` / ``isv.*`` sub codes;
the ``alipay.trade.pay`` / ``precreate`` / ``create`` business sub codes ``ACQ.*``) as quoted
in public SDKs, and written here in our own words. Alipay documents no Huabei-only sub code: a
shopper without enough Huabei quota gets the same ``ACQ.BUYER_BALANCE_NOT_ENOUGH`` /
``ACQ.NO_PAYMENT_INSTRUMENTS_AVAILABLE`` as any other buyer whose funding source is short, so
the buyer hints below name Huabei, which is what the cashier is selling.

Severity says how urgent the code is if it keeps coming:

* ``info``: nothing for the merchant to do; the shopper can act (or it is not a failure).
* ``warning``: the merchant should look soon, or it may pass by itself (platform hiccups).
* ``critical``: payments at this merchant keep failing until someone acts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from huabei_watch.events.common import Cause

Severity = Literal["info", "warning", "critical"]

B, M, G, P = Cause.BUYER, Cause.MERCHANT_ACCOUNT, Cause.INTEGRATION, Cause.PLATFORM

#: Shopper hints reused by many rows.
HINT_OTHER_METHOD = "本次支付未成功，请选择其他支付方式"
HINT_RETRY_LATER = "支付服务繁忙，请稍后重试或选择其他支付方式"
HINT_SHOP_SIDE = "商家收款暂时异常，请选择其他支付方式或联系店员"
HINT_QUOTA = "花呗额度不足，请查看花呗额度或选择其他支付方式"
HINT_REFRESH_CODE = "付款码已失效，请刷新付款码后重新支付"
HINT_ACCOUNT = "您的支付宝账户暂时无法付款，请联系支付宝客服95188或选择其他支付方式"
HINT_NEW_ORDER = "订单状态有变，请收银员重新下单后再支付"

ALIPAY_MERCHANT_SERVICE = "支付宝商家客服（95188）"


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """One known code: its cause and the three texts for merchant, ops and shopper."""

    code: str
    cause: Cause
    severity: Severity
    advice_zh: str
    explanation: str
    shopper_hint_zh: str


def _c(code: str, cause: Cause, severity: Severity, advice_zh: str, explanation: str, hint: str) -> CodeInfo:
    return CodeInfo(code, cause, severity, advice_zh, explanation, hint)


#: Business sub codes of the trade APIs (``code`` 40004, or sent alone as ``code``).
ACQ_CODES: tuple[CodeInfo, ...] = (
    # --- platform ---
    _c("ACQ.SYSTEM_ERROR", P, "warning",
       "支付宝系统异常，交易结果未知：请先查询订单状态再决定是否重试；持续出现请联系支付宝技术支持。",
       "Alipay-side system error; the trade may or may not have succeeded. Query the order before retrying. A surge across merchants suggests a platform outage.",
       HINT_RETRY_LATER),
    # --- buyer ---
    _c("ACQ.BUYER_BALANCE_NOT_ENOUGH", B, "info",
       "顾客余额或花呗额度不足，属正常情况，无需处理；请引导顾客换用其他支付方式。",
       "The buyer's funding source (balance or Huabei quota) cannot cover the amount. Buyer-side; never an outage.",
       HINT_QUOTA),
    _c("ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH", B, "info",
       "顾客银行卡余额不足，无需处理；请引导顾客换卡或换用其他支付方式。",
       "The buyer's bank card has insufficient funds. Buyer-side.",
       "银行卡余额不足，请换一张卡或选择其他支付方式"),
    _c("ACQ.ERROR_BALANCE_PAYMENT_DISABLE", B, "info",
       "顾客关闭了余额支付，无需处理；请顾客打开余额支付或换用其他方式。",
       "The buyer has switched off balance payments. Buyer-side.",
       "您的余额支付已关闭，请在支付宝中开启或选择其他支付方式"),
    _c("ACQ.PAYMENT_REQUEST_HAS_RISK", B, "info",
       "支付宝风控拦截了这笔支付，商家无需处理；请顾客换用其他支付方式。",
       "Alipay risk control rejected this payment for this buyer. Buyer-side; do not retry the same payment.",
       "本次支付未通过安全校验，请选择其他支付方式"),
    _c("ACQ.NO_PAYMENT_INSTRUMENTS_AVAILABLE", B, "info",
       "顾客没有可用的支付工具（例如花呗不可用），无需处理；请顾客换用其他支付方式。",
       "No usable funding source for this buyer (e.g. Huabei not available to them). Buyer-side.",
       "暂无可用的付款方式，请查看花呗额度或选择其他支付方式"),
    _c("ACQ.BUYER_ENABLE_STATUS_FORBID", B, "info",
       "顾客的支付宝账户状态受限，商家无需处理；请顾客联系支付宝客服95188。",
       "The buyer's Alipay account is restricted from paying. Buyer-side.",
       HINT_ACCOUNT),
    _c("ACQ.ERROR_BUYER_CERTIFY_LEVEL_LIMIT", B, "info",
       "顾客未完成实名认证要求，商家无需处理；请顾客联系支付宝客服95188并换用其他方式。",
       "The buyer's identity verification level does not allow this payment. Buyer-side.",
       "您的支付宝账户需完善实名认证，请选择其他支付方式"),
    _c("ACQ.NOT_CERTIFIED_USER", B, "info",
       "顾客未实名认证，商家无需处理；请顾客完善实名信息或换用其他方式。",
       "The buyer is not identity-verified. Buyer-side.",
       "您的支付宝账户需完善实名认证，请选择其他支付方式"),
    _c("ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR", B, "info",
       "顾客当日付款额度已用完，无需处理；请顾客换用其他账户或支付方式。",
       "The buyer has hit their daily payment limit. Buyer-side.",
       "今日付款额度已用完，请选择其他支付方式"),
    _c("ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR", B, "info",
       "顾客当月付款额度已用完，无需处理；请顾客换用其他账户或支付方式。",
       "The buyer has hit their monthly payment limit. Buyer-side.",
       "本月付款额度已用完，请选择其他支付方式"),
    _c("ACQ.PAYMENT_AUTH_CODE_INVALID", B, "info",
       "顾客的付款码无效或已过期，请让顾客刷新付款码后重新扫码。",
       "The payment (barcode) auth code is invalid or expired. Buyer-side; rescan a fresh code.",
       HINT_REFRESH_CODE),
    _c("ACQ.PULL_MOBILE_CASHIER_FAIL", B, "info",
       "未能在顾客手机上拉起支付宝收银台，请让顾客检查手机网络、刷新付款码后重试。",
       "Alipay could not open the cashier on the buyer's phone (usually the phone's network). Buyer-side.",
       "手机未能打开支付页面，请检查网络并刷新付款码后重试"),
    _c("ACQ.MOBILE_PAYMENT_SWITCH_OFF", B, "info",
       "顾客关闭了无线支付，无需处理；请顾客在支付宝中开启后重试。",
       "The buyer has switched off mobile payments. Buyer-side.",
       "您的手机支付功能已关闭，请在支付宝中开启后重试"),
    _c("ACQ.USER_FACE_PAYMENT_SWITCH_OFF", B, "info",
       "顾客关闭了当面付付款，无需处理；请顾客在支付宝中开启后重试。",
       "The buyer has switched off in-store (face-to-face) payments. Buyer-side.",
       "您的当面付款功能已关闭，请在支付宝中开启后重试"),
    _c("ACQ.PAYMENT_FAIL", B, "info",
       "支付失败，请让顾客刷新付款码重试一次；仍失败请换用其他支付方式。",
       "Generic payment failure for this buyer; Alipay's advice is one retry with a fresh code, then another method. Counted as buyer-side.",
       "支付未成功，请刷新付款码重试或选择其他支付方式"),
    _c("ACQ.PAYER_UNMATCHED", B, "info",
       "付款人与订单指定的支付宝账户不一致，请顾客使用指定账户付款。",
       "The paying account differs from the payer the order was restricted to. Buyer-side.",
       "请使用下单时指定的支付宝账户付款"),
    _c("ACQ.TRADE_BUYER_NOT_MATCH", B, "info",
       "该订单已被另一个支付宝账户打开过，请顾客用原账户付款，或重新下单（换新的商户订单号）。",
       "The order is already bound to another buyer account. Pay with that account or create a new order number.",
       HINT_NEW_ORDER),
    _c("ACQ.BUYER_SELLER_EQUAL", B, "info",
       "付款账户与收款账户相同，请换一个支付宝账户付款。",
       "Buyer and seller are the same account (often a merchant testing with its own account).",
       "付款账户不能与收款账户相同，请换一个账户付款"),
    _c("ACQ.BUYER_NOT_EXIST", B, "info",
       "顾客的支付宝账户不存在或已注销，请顾客换用其他账户或支付方式。",
       "The buyer account does not exist (closed). Buyer-side.",
       HINT_OTHER_METHOD),
    # --- merchant account ---
    _c("ACQ.SELLER_BEEN_BLOCKED", M, "critical",
       f"您的支付宝收款账户已被冻结，所有收款都会失败。请立即登录支付宝商家中心查看原因，或联系{ALIPAY_MERCHANT_SERVICE}申请解冻。",
       "The merchant's Alipay account is frozen; every payment will fail until it is unfrozen.",
       HINT_SHOP_SIDE),
    _c("ACQ.MERCHANT_STATUS_NOT_NORMAL", M, "critical",
       f"您的商户签约状态异常（常见原因：超过三个月没有交易被停用）。请登录支付宝商家中心重新激活，或联系{ALIPAY_MERCHANT_SERVICE}。",
       "The merchant's contract with Alipay is not in a normal state (often dormant for three months and needing reactivation).",
       HINT_SHOP_SIDE),
    _c("ACQ.MERCHANT_AGREEMENT_NOT_EXIST", M, "critical",
       f"没有找到您与支付宝的收款签约。请在支付宝商家中心确认已签约对应产品，或联系{ALIPAY_MERCHANT_SERVICE}。",
       "No merchant agreement exists for this product.",
       HINT_SHOP_SIDE),
    _c("ACQ.MERCHANT_AGREEMENT_INVALID", M, "critical",
       f"您与支付宝的收款签约已失效，请在支付宝商家中心重新签约，或联系{ALIPAY_MERCHANT_SERVICE}。",
       "The merchant agreement has expired or been revoked; it must be signed again.",
       HINT_SHOP_SIDE),
    _c("ACQ.ACCESS_FORBIDDEN", M, "critical",
       f"您的账户没有使用该收款产品的权限（未签约或合同到期）。请在支付宝商家中心签约或续约，或联系{ALIPAY_MERCHANT_SERVICE}。",
       "No permission for the product: not signed, or the contract expired. Also check that product_code matches what was signed.",
       HINT_SHOP_SIDE),
    _c("ACQ.SECONDARY_MERCHANT_STATUS_ERROR", M, "critical",
       "您作为二级商户的状态异常，请联系为您开户的服务商查询原因。",
       "The secondary (sub-)merchant's status is abnormal; the acquiring service provider must check it.",
       HINT_SHOP_SIDE),
    _c("ACQ.BEYOND_PAY_RESTRICTION", M, "warning",
       f"您的收款额度已用完。请联系{ALIPAY_MERCHANT_SERVICE}提高收款限额，期间可引导顾客使用其他支付方式。",
       "The merchant has exceeded its collection limit.",
       HINT_SHOP_SIDE),
    _c("ACQ.BEYOND_PER_RECEIPT_RESTRICTION", M, "warning",
       f"您本月的收款金额已超过限额。请联系{ALIPAY_MERCHANT_SERVICE}提高限额。",
       "The merchant has exceeded its monthly collection limit.",
       HINT_SHOP_SIDE),
    _c("ACQ.BEYOND_PER_RECEIPT_DAY_RESTRICTION", M, "warning",
       f"您今天的累计收款已超过当日限额。请联系{ALIPAY_MERCHANT_SERVICE}提高限额。",
       "The order would exceed the merchant's daily cumulative collection limit.",
       HINT_SHOP_SIDE),
    _c("ACQ.BEYOND_PER_RECEIPT_SINGLE_RESTRICTION", M, "warning",
       f"这笔订单金额超过了您的单笔收款限额。可拆分订单，或联系{ALIPAY_MERCHANT_SERVICE}提高限额。",
       "The order exceeds the merchant's single-payment limit.",
       HINT_SHOP_SIDE),
    _c("ACQ.PRODUCT_AMOUNT_LIMIT_ERROR", M, "warning",
       f"该收款产品的额度已超限。请联系{ALIPAY_MERCHANT_SERVICE}提高产品限额。",
       "The product-level amount limit for this merchant is exceeded.",
       HINT_SHOP_SIDE),
    _c("ACQ.MERCHANT_PERM_RECEIPT_SUSPEND_LIMIT", M, "critical",
       f"您的账户已被暂停收款。请登录支付宝商家中心查看原因，或联系{ALIPAY_MERCHANT_SERVICE}。",
       "Alipay has suspended collections for this merchant.",
       HINT_SHOP_SIDE),
    _c("ACQ.RESTRICTED_MERCHANT_INDUSTRY", M, "warning",
       f"订单金额超过了您所属行业允许的上限。请核对经营类目，或联系{ALIPAY_MERCHANT_SERVICE}。",
       "The amount exceeds what the merchant's registered industry allows.",
       HINT_SHOP_SIDE),
    _c("ACQ.SELLER_BALANCE_NOT_ENOUGH", M, "warning",
       "您的支付宝账户余额不足，无法完成退款或撤销。请先充值，再重新发起退款。",
       "The merchant's balance cannot cover a refund or cancel (affects refunds, not new payments).",
       "退款暂未完成，请稍后联系店员"),
    # --- integration ---
    _c("ACQ.INVALID_PARAMETER", G, "critical",
       "收银系统发送的参数无效。请把报错信息（sub_msg）发给您的收银系统/插件技术支持，检查并修正请求参数。",
       "At least one request parameter is invalid (see sub_msg). Usually the cashier plugin or its configuration.",
       HINT_SHOP_SIDE),
    _c("ACQ.PARTNER_ERROR", G, "critical",
       f"收银系统配置的应用APPID有误。请核对开放平台中的APPID与收银系统配置是否一致，或联系{ALIPAY_MERCHANT_SERVICE}确认APPID状态。",
       "The APP_ID used by the cashier is wrong or not valid for this merchant.",
       HINT_SHOP_SIDE),
    _c("ACQ.TOTAL_FEE_EXCEED", G, "warning",
       "订单金额不在允许范围内（需大于0且不超过上限）。请检查收银系统传入的金额。",
       "The order amount is out of range (<= 0 or above the maximum). The cashier sent a wrong amount.",
       "订单金额有误，请联系店员重新下单"),
    _c("ACQ.CONTEXT_INCONSISTENT", G, "warning",
       "同一商户订单号再次提交时金额或标题等信息与原订单不一致。请让收银系统为新订单生成新的订单号。",
       "The out_trade_no was reused with different trade details. The cashier must use a fresh order number.",
       HINT_NEW_ORDER),
    _c("ACQ.TRADE_HAS_SUCCESS", G, "info",
       "该订单已支付成功，请勿重复收款；先确认是否为本顾客的订单，若是新订单请换新的订单号。",
       "The order number was already paid. Check the order; a new sale needs a new out_trade_no.",
       "该订单已支付成功，请勿重复付款"),
    _c("ACQ.TRADE_HAS_CLOSE", G, "warning",
       "该订单已关闭（超时未付或已全额退款）。请换新的商户订单号重新下单。",
       "The trade for this order number is closed (timed out or fully refunded). Use a new out_trade_no.",
       HINT_NEW_ORDER),
    _c("ACQ.TRADE_NOT_EXIST", G, "info",
       "支付宝查不到该交易。请核对订单号，以及查询时是否使用了与下单相同的应用授权。",
       "The trade does not exist (wrong order number, different app_auth_token, or not yet created).",
       HINT_NEW_ORDER),
    _c("ACQ.EXIST_FORBIDDEN_WORD", G, "warning",
       "订单标题或描述中含有违禁词。请修改收银系统中的商品名称/订单标题后重试。",
       "The order subject or body contains forbidden words.",
       "订单信息有误，请联系店员重新下单"),
    _c("ACQ.INVALID_STORE_ID", G, "warning",
       "收银系统传入的门店编号无效。请核对门店编号配置。",
       "The store_id sent by the cashier is not valid.",
       HINT_SHOP_SIDE),
    _c("ACQ.SUB_MERCHANT_CREATE_FAIL", G, "critical",
       "二级商户信息无效，创建失败。请联系服务商或收银系统技术支持核对上送的二级商户信息。",
       "Creating the sub-merchant failed; the sub-merchant data sent is invalid.",
       HINT_SHOP_SIDE),
    _c("ACQ.SUB_MERCHANT_TYPE_INVALID", G, "critical",
       "二级商户类型不合法。请联系服务商或收银系统技术支持核对二级商户类型。",
       "The sub-merchant type sent is invalid.",
       HINT_SHOP_SIDE),
    _c("ACQ.NOW_TIME_AFTER_EXPIRE_TIME_ERROR", G, "warning",
       "订单已过了允许支付的截止时间。请检查收银系统设置的订单超时时间，并重新下单。",
       "The payment deadline (time_expire / timeout_express) set on the order has passed.",
       HINT_NEW_ORDER),
    _c("ACQ.UN_SUPPORT_TRADE_SCENE", G, "warning",
       "您的签约不支持当前的交易场景。请核对收银系统使用的场景，或在商家中心改签支持该场景的产品。",
       "The signed contract does not cover this trade scene (scan, barcode, ...).",
       HINT_SHOP_SIDE),
)


def _isv(sub: str, severity: Severity, advice_zh: str, explanation: str) -> CodeInfo:
    return _c(sub, G, severity, advice_zh, explanation, HINT_SHOP_SIDE)


_UPGRADE = "请联系收银系统/插件技术支持，或升级到最新版本插件。"

#: Gateway sub codes: ``isv.*`` (the caller's fault), ``isp.*`` / ``aop.*`` (gateway and service).
GATEWAY_SUB_CODES: tuple[CodeInfo, ...] = (
    _c("isp.unknow-error", P, "warning",
       "支付宝业务系统暂时不可用，请稍后重试；如多家门店同时出现，可能是平台故障。",
       "20000 Service Currently Unavailable from the business system behind the gateway. Retry later; a surge across merchants suggests an outage.",
       HINT_RETRY_LATER),
    _c("aop.unknow-error", P, "warning",
       "支付宝网关暂时不可用，请稍后重试。",
       "20000 unknown error in the Alipay gateway itself. Retry later.",
       HINT_RETRY_LATER),
    _c("aop.invalid-auth-token", G, "critical",
       "访问令牌无效，请重新授权获取新的令牌。" + _UPGRADE,
       "20001 the access (auth) token is invalid; refresh or re-authorize.",
       HINT_SHOP_SIDE),
    _c("aop.auth-token-time-out", G, "critical",
       "访问令牌已过期，请刷新或重新授权。" + _UPGRADE,
       "20001 the access token has expired; refresh it.",
       HINT_SHOP_SIDE),
    _c("aop.invalid-app-auth-token", G, "critical",
       "您给服务商的应用授权令牌无效，请在收银系统中重新授权支付宝。",
       "20001 the app_auth_token (merchant's grant to the ISV) is invalid; re-authorize.",
       HINT_SHOP_SIDE),
    _c("aop.app-auth-token-time-out", G, "critical",
       "您给服务商的应用授权令牌已过期，请在收银系统中重新授权支付宝。",
       "20001 the app_auth_token has expired; refresh or re-authorize.",
       HINT_SHOP_SIDE),
    _c("aop.invalid-app-auth-token-no-api", G, "critical",
       "您没有授权服务商调用该接口，请在收银系统中重新授权并勾选所需权限。",
       "20001 the merchant did not grant this API to the ISV; re-authorize with the API included.",
       HINT_SHOP_SIDE),
    _c("aop.no-product-reg-by-partner", M, "critical",
       f"您的账户尚未签约任何收款产品。请在支付宝商家中心签约，或联系{ALIPAY_MERCHANT_SERVICE}。",
       "20001 the merchant has not signed any product.",
       HINT_SHOP_SIDE),
    _isv("isv.missing-method", "critical", "收银系统请求缺少接口名（method）参数。" + _UPGRADE,
         "40001 the request has no method parameter: a broken or outdated plugin."),
    _isv("isv.missing-signature", "critical", "收银系统请求缺少签名（sign）。" + _UPGRADE,
         "40001 the request carries no sign."),
    _isv("isv.missing-signature-type", "critical", "收银系统请求缺少签名类型（sign_type）。" + _UPGRADE,
         "40001 the request carries no sign_type."),
    _isv("isv.missing-signature-key", "critical", "开放平台中尚未上传应用公钥，请在开放平台配置密钥后重试。",
         "40001 no public key is configured for the app on the open platform."),
    _isv("isv.missing-app-id", "critical", "收银系统请求缺少APPID，请检查收银系统的支付宝配置。",
         "40001 the request has no app_id."),
    _isv("isv.missing-timestamp", "critical", "收银系统请求缺少时间戳。" + _UPGRADE,
         "40001 the request has no timestamp."),
    _isv("isv.missing-version", "critical", "收银系统请求缺少版本号参数。" + _UPGRADE,
         "40001 the request has no version."),
    _isv("isv.invalid-parameter", "critical", "收银系统请求参数无效，请把报错信息发给收银系统技术支持检查。",
         "40002 a request parameter is invalid (see sub_msg)."),
    _isv("isv.invalid-method", "critical", "收银系统调用了不存在的接口名，可能插件版本过旧。" + _UPGRADE,
         "40002 the method name does not exist: an outdated or misconfigured plugin."),
    _isv("isv.invalid-format", "critical", "收银系统请求的数据格式无效。" + _UPGRADE,
         "40002 invalid data format."),
    _isv("isv.invalid-signature-type", "critical", "签名类型无效，请在收银系统中使用RSA2签名。",
         "40002 the sign_type is not valid for this app (use RSA2)."),
    _isv("isv.invalid-signature", "critical",
         "验签失败：收银系统配置的应用私钥与开放平台上的公钥不匹配，或参数编码有误。请核对密钥配置，必要时重新生成并上传。",
         "40002 signature check failed: private key does not match the uploaded public key, or charset/encoding problems."),
    _isv("isv.invalid-encrypt-type", "critical", "加密类型无效，请检查收银系统的接口内容加密配置。",
         "40002 the encrypt_type is not valid."),
    _isv("isv.invalid-encrypt", "critical", "接口内容解密失败，请核对收银系统配置的AES密钥与开放平台一致。",
         "40002 the request content could not be decrypted (wrong AES key)."),
    _isv("isv.invalid-app-id", "critical", "APPID无效，请核对收银系统中的APPID，并确认应用已上线。",
         "40002 the app_id is unknown or the app is not online."),
    _isv("isv.invalid-timestamp", "critical", "请求时间戳不合法，请校准收银服务器时间（北京时间）并检查时间格式。",
         "40002 the timestamp is malformed or too far from Alipay's clock: check the server clock and time zone."),
    _isv("isv.invalid-charset", "warning", "请求字符集错误，请在收银系统中使用UTF-8。",
         "40002 unsupported charset."),
    _isv("isv.invalid-digest", "warning", "请求摘要错误。" + _UPGRADE,
         "40002 invalid digest."),
    _isv("isv.missing-signature-config", "critical", "开放平台未配置对应签名算法的公钥或证书，请在开放平台完成密钥/证书配置。",
         "40002 no public key or certificate is configured for the sign algorithm used."),
    _isv("isv.not-support-app-auth", "warning", "该接口不支持服务商代调用，请联系收银系统技术支持。",
         "40002 this API cannot be called on behalf of a merchant (app_auth_token not allowed)."),
    _isv("isv.decryption-error-unknown", "warning", "接口内容解密出错，请检查加密配置。",
         "40002 unknown decryption error."),
    _isv("isv.insufficient-isv-permissions", "critical",
         "应用没有调用该接口的权限：请在开放平台为应用添加对应产品，并确认已在商家中心签约。",
         "40006 the app lacks the API permission: the product is not bound to the app, or not signed."),
    _isv("isv.insufficient-user-permissions", "critical", "授权用户的权限不足，请重新授权并勾选所需权限。",
         "40006 the authorizing user lacks the permission."),
    _isv("isv.invalid-auth-relations", "critical", "授权关系无效，请在收银系统中重新授权。",
         "40003 invalid authorization relationship."),
)

#: Top-level gateway codes, used when the sub code is empty or unknown.
TOP_LEVEL_CODES: tuple[CodeInfo, ...] = (
    _c("10000", Cause.UNKNOWN, "info",
       "接口调用成功，不是失败。",
       "10000 success; not a failure (cause is 'unknown' because no failure cause applies).",
       ""),
    _c("20000", P, "warning",
       "支付宝服务暂不可用，请稍后重试；如多家门店同时出现，可能是平台故障。",
       "20000 Service Currently Unavailable. Retry later; a surge across merchants suggests an outage.",
       HINT_RETRY_LATER),
    _c("20001", G, "critical",
       "授权权限不足（令牌无效或过期），请在收银系统中重新授权。",
       "20001 Insufficient Token Permissions: auth token or app_auth_token invalid or expired.",
       HINT_SHOP_SIDE),
    _c("40001", G, "critical",
       "收银系统请求缺少必选参数。" + _UPGRADE,
       "40001 Missing Required Arguments: a broken or outdated integration.",
       HINT_SHOP_SIDE),
    _c("40002", G, "critical",
       "收银系统请求参数非法（常见：签名、APPID、时间戳）。请把报错信息发给收银系统技术支持。",
       "40002 Invalid Arguments: signature, app id, timestamp or other parameter rejected by the gateway.",
       HINT_SHOP_SIDE),
    _c("40003", G, "critical",
       "调用条件不满足（授权关系无效）。请在收银系统中重新授权。",
       "40003 Insufficient Conditions, e.g. invalid authorization relationship.",
       HINT_SHOP_SIDE),
    _c("40004", Cause.UNKNOWN, "warning",
       "业务处理失败，但没有可识别的明细错误码。请查看报错信息（sub_msg），必要时联系支付宝技术支持。",
       "40004 Business Failed with no known sub_code: the sub_code decides the cause.",
       HINT_OTHER_METHOD),
    _c("40006", G, "critical",
       "应用权限不足：请在开放平台为应用添加对应产品，并确认已在商家中心签约。",
       "40006 Insufficient Permissions: the app is not allowed to call this API.",
       HINT_SHOP_SIDE),
)

#: Transport failures (no Alipay answer at all), keyed by our ``transport_error`` vocabulary.
TRANSPORT_ERRORS: tuple[CodeInfo, ...] = (
    _c("timeout", P, "warning",
       "请求支付宝超时，交易结果未知：请先查询订单状态；如多家门店同时超时，可能是平台故障。",
       "No answer from Alipay within the timeout. Outcome unknown; query the order. Platform-side unless only one merchant's network is affected.",
       HINT_RETRY_LATER),
    _c("connection_reset", P, "warning",
       "与支付宝的连接被重置，请稍后重试；若只有您的门店出现，请检查门店网络。",
       "The connection to Alipay was reset mid-request.",
       HINT_RETRY_LATER),
    _c("connection_refused", P, "warning",
       "无法连接支付宝服务器，请稍后重试；若只有您的门店出现，请检查门店网络或代理设置。",
       "The connection to Alipay was refused.",
       HINT_RETRY_LATER),
    _c("dns", P, "warning",
       "无法解析支付宝服务器域名，请检查门店网络的DNS设置；多家门店同时出现可能是平台或运营商故障。",
       "DNS resolution of the Alipay gateway failed.",
       HINT_RETRY_LATER),
    _c("tls", P, "warning",
       "与支付宝建立安全连接（TLS）失败，请检查服务器时间与证书库；多家门店同时出现可能是平台故障。",
       "TLS handshake with the Alipay gateway failed (clock, CA store, interception).",
       HINT_RETRY_LATER),
    _c("http_5xx", P, "warning",
       "支付宝服务器返回了服务器错误，请稍后重试。",
       "The Alipay gateway answered with an HTTP 5xx.",
       HINT_RETRY_LATER),
)

#: Used for a transport error outside our vocabulary: still a failure to reach Alipay.
TRANSPORT_OTHER = _c(
    "transport", P, "warning",
    "与支付宝通信失败，请稍后重试；若只有您的门店出现，请检查门店网络。",
    "The request did not get an answer from Alipay (unclassified transport error).",
    HINT_RETRY_LATER,
)
